"""P9 deterministic per-request cost of submit and list: SQL statements and CPU instructions.

Timings on a shared 2-core machine wander; these two do not. Each side runs in its own process
under ``valgrind --tool=callgrind --instr-atstart=no``: the process builds its app and warms it
up uninstrumented, then turns instrumentation on (``callgrind_control -i on <own pid>``), makes
N requests through the Flask test client, dumps the counters (``-d``), makes 2N more and dumps
again: (second - first) / N is the cost of one request, the control commands cancelled out.
Only the requests' own thread is counted (``--separate-threads=yes``): the project's nudge to the
broker is sent by a background thread that gathers the nudges of a quarter second into one, so
its share of a request depends on timing (under callgrind, where threads take turns, it made the
figure negative); the floor pushes to Redis in the request itself, so its push is counted.
The cyclic garbage collector is paused while counting: when it runs depends on every thread's
allocations, so a collection fell in one part or the other by timing and moved the figure by up
to 2 M instructions a request (its share, about 4 % of a submit's CPU, is left out). The
control command runs with no output captured and no timeout, so its wait is one system call,
not a loop whose turns depend on timing. Even so, about one run in four still shows one part
with about 40 M instructions more (2 M a request), from Python code in the requests' thread
that a native run does not show (its calls a request are the same every time): compare runs.
Statements per request are counted by a SQLAlchemy event listener.

- submit: the project's first inquiry step (``POST /inquiry``: WTForms, dedupe, lead, inquiry,
  outbox event, handing the nudge to its thread), each with a fresh form GET done before
  instrumenting;
  floor: B2's ``bench/floor_app.py`` ``POST /submit`` (one raw INSERT, one Redis LPUSH).
- list: the queue page (``GET /staff/``, page 1, coordinator, team filter); floor: a minimal
  Flask view written here running the raw keyset SELECT and rendering its 50 rows in a table.

It uses its own small database (``<bench db>_p9``, 2,000 generated leads) so the submits never
change the 1 M data set.
"""

# ruff: noqa: S603, S607 - runs python, valgrind and callgrind_control on our own arguments

from __future__ import annotations

import gc
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

from bench.harness import result

N = 20
LIST_URL = "/staff/?view=all&sort=sla&team=1&status=new&status=contacted&status=not_interested"
FLOOR_LIST_SQL = """
SELECT l.id, l.first_name, l.last_name, l.status, s.name, l.sla_due_at
FROM leads AS l LEFT JOIN staff_users AS s ON s.id = l.owner_id
WHERE l.team_id = 1 AND l.status = ANY(%s)
ORDER BY l.sla_due_at, l.id LIMIT 51
"""


def _control(*command: str) -> None:
    """Ask the callgrind running this process to do something (``-i on``, ``-d`` …)."""
    if os.environ.get("BENCH_UNDER_CALLGRIND"):
        # No output captured and no timeout (the parent's run has one): see the docstring.
        subprocess.run(
            ["callgrind_control", *command, str(os.getpid())],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )


def _submit_form(app) -> tuple:
    """A new visitor's client and its first-step form, filled with a unique email and phone."""
    from tests.conftest import CONTACT, form_data, hidden_fields

    client = app.test_client()
    shown = client.get("/inquiry")
    number = int.from_bytes(os.urandom(4), "big") % 10_000_000
    answers = dict(CONTACT, email=f"p9.{number}@example.org", phone="")
    return client, form_data(hidden_fields(shown), answers)


def _floor_list_app(database_url: str):
    """The least a Flask view can do for a list page: one keyset SELECT, 50 rows in a table."""
    import psycopg
    from flask import Flask, render_template_string

    from bench.harness import psycopg_url

    app = Flask(__name__)
    connection = psycopg.connect(psycopg_url(database_url), autocommit=True)
    template = (
        "<table>{% for r in rows %}<tr><td><a href='/leads/{{ r[0] }}'>{{ r[1] }} {{ r[2] }}"
        "</a></td><td>{{ r[3] }}</td><td>{{ r[4] or '' }}</td><td>{{ r[5] }}</td></tr>"
        "{% endfor %}</table>"
    )

    @app.get("/list")
    def listing():
        rows = connection.execute(FLOOR_LIST_SQL, (["new", "contacted", "not_interested"],))
        return render_template_string(template, rows=rows.fetchall())

    return app


def child(side: str, kind: str, n: int, database_url: str) -> dict:
    """Build the app, warm up, then make ``n`` requests with instrumentation on."""
    from bench.data import COORDINATOR_EMAIL
    from bench.harness import BENCH_REDIS_URL, bench_app, signed_in_client
    from tests.staff.conftest import QueryCounter  # the suite's own statement counter

    statements = None
    if side == "floor" and kind == "submit":
        from bench.floor_app import create_floor_app

        app = create_floor_app(database_url, BENCH_REDIS_URL)
        client = app.test_client()
        forms = [
            (client, {"email": f"p9.{i}@example.org", "first_name": "Ada"})
            for i in range(3 * n + 3)
        ]
        url = "/submit"
    elif side == "floor":
        app = _floor_list_app(database_url)
        client = app.test_client()
        url, forms = "/list", None
    else:
        from intake import warm_up

        app = bench_app(database_url)
        warm_up(app)  # as gunicorn's master does before it forks: first-use imports done here
        if kind == "submit":
            client = None
            forms = [_submit_form(app) for _ in range(3 * n + 3)]
            url = "/inquiry"
        else:
            client = signed_in_client(app, COORDINATOR_EMAIL)
            url, forms = LIST_URL, None

    def request(index: int) -> None:
        if forms is None:
            response = client.get(url)
            assert response.status_code == 200, response.status_code
        else:
            poster, data = forms[index]
            response = poster.post(url, data=data)
            assert response.status_code in (302, 303), response.status_code

    for index in range(2):  # warm-up: first-request imports, template compilation, pools
        request(index)
    if side == "project":
        with QueryCounter(app) as counter:
            request(2)
        statements = counter.count
    time.sleep(0.5)  # let the web process's broker nudge (a background thread) settle
    gc.freeze()  # what the requests find in place stays out of the collector's reach (gunicorn's
    gc.disable()  # pre_fork), and no collection runs while counted (see the module's docstring)
    _control("-i", "on")
    for index in range(n):
        request(3 + index)
    time.sleep(0.5)
    _control("-d")  # first part: n requests (counters are zeroed by the dump)
    for index in range(2 * n):
        request(3 + n + index)
    time.sleep(0.5)
    _control("-d")  # second part: 2n requests, the same overheads around them
    _control("-i", "off")
    gc.enable()
    return {"statements": statements}


def _instructions(side: str, kind: str, n: int, database_url: str, workdir: str) -> tuple:
    """(instructions per request, statements per request) from one run under callgrind."""
    out = os.path.join(workdir, f"cg.{side}.{kind}")
    env = dict(os.environ, BENCH_UNDER_CALLGRIND="1")
    command = ["valgrind", "--tool=callgrind", "--instr-atstart=no", "--separate-threads=yes"]
    command += [f"--callgrind-out-file={out}", sys.executable, "-m", "bench.p9_cost"]
    command += [side, kind, str(n), database_url]
    completed = subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=900, check=False
    )
    if completed.returncode != 0:
        raise RuntimeError(f"callgrind run failed: {completed.stderr[-2000:]}")
    parts = []
    for number in (1, 2):  # the main thread's file of each dump: the requests' own thread
        with open(f"{out}.{number}-01") as handle:
            parts.append(int(re.search(r"^totals: (\d+)", handle.read(), re.M).group(1)))
    child_out = json.loads(completed.stdout.strip().splitlines()[-1])
    return (parts[1] - parts[0]) / n, child_out["statements"]


def _p9_database(args) -> str:
    from bench.__main__ import ensure_database
    from bench.data import ensure_leads

    url = args.database_url.split("?")[0]
    url = url.removesuffix("_quick") + "_p9"
    ensure_database(url)
    ensure_leads(url, 2000)
    return url


def run(args) -> None:
    if shutil.which("valgrind") is None:
        raise RuntimeError("P9 needs valgrind (apt-get install valgrind)")
    n = 5 if args.quick else N
    database_url = _p9_database(args)
    with tempfile.TemporaryDirectory(prefix="bench-p9-") as workdir:
        for kind in ("submit", "list"):
            per_request = {}
            statements = None
            for side in ("floor", "project"):
                per_request[side], count = _instructions(side, kind, n, database_url, workdir)
                statements = count if side == "project" else statements
            value, floor = per_request["project"], per_request["floor"]
            result(
                f"P9.{kind}",
                value,
                floor,
                "report",
                True,
                unit="instr",
                note=f"instructions/request, callgrind, (2N-N)/N with N={n}; "
                f"{statements} SQL statements/request",
            )
            print(
                f"RESULT P9.{kind}.queries value={statements} target=exact-count PASS", flush=True
            )


if __name__ == "__main__":
    _side, _kind, _n, _url = sys.argv[1:5]
    print(json.dumps(child(_side, _kind, int(_n), _url)))
