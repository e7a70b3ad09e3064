"""``python -m bench [P1 …] [--leads N] [--quick]``: run the chosen scenarios (all by default,
except the optional ones, which run only when named: P13 installs and runs a third-party peer).

Each scenario module ``bench/pN_*.py`` exposes ``run(args)`` and prints its RESULT lines. FAIL
lines are figures, not verdicts: the exit status is 0 unless a scenario crashes.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
import time
import traceback

import bench
from bench.harness import BENCH_DATABASE_URL

SCENARIOS = (*(f"P{n}" for n in range(1, 14)),)
OPTIONAL = ("P13",)  # run only when named
QUICK_LEADS = 20_000


def _module_for(scenario: str):
    prefix = scenario.lower() + "_"
    for info in pkgutil.iter_modules(bench.__path__):
        if info.name.startswith(prefix):
            return importlib.import_module(f"bench.{info.name}")
    return None


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("scenarios", nargs="*", metavar="P1", help="scenarios (default: all)")
    parser.add_argument("--leads", type=int, default=None, help="leads in the data set")
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run: 20,000 leads, few rounds"
    )
    args = parser.parse_args(argv)
    named = [name.upper() for name in args.scenarios]
    # P9 runs callgrind (several minutes): a quick run includes it only when it is named.
    args.scenarios = named or [
        s for s in SCENARIOS if s not in OPTIONAL and not (args.quick and s == "P9")
    ]
    unknown = [name for name in args.scenarios if name not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(unknown)}")
    if args.leads is None:
        args.leads = QUICK_LEADS if args.quick else 1_000_000
    # A quick run keeps its small data set in its own database, so the 1 M one survives.
    args.database_url = os.environ.get(
        "INTAKE_BENCH_DATABASE_URL",
        BENCH_DATABASE_URL + "_quick" if args.quick else BENCH_DATABASE_URL,
    )
    return args


def ensure_database(database_url: str) -> None:
    """Create the benchmark database beside the server's ``postgres`` one if it is missing."""
    import psycopg
    from sqlalchemy import make_url

    from bench.harness import psycopg_url

    url = make_url(database_url)
    admin = psycopg_url(url.set(database="postgres").render_as_string(hide_password=False))
    with psycopg.connect(admin, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (url.database,)
        ).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{url.database}"')


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    from bench import data, harness

    ensure_database(args.database_url)
    data.ensure_leads(args.database_url, args.leads)
    print(harness.machine_header(data.lead_count(args.database_url), args.database_url))
    print(f"# scenarios: {' '.join(args.scenarios)}{' (quick)' if args.quick else ''}")
    crashed = []
    for scenario in args.scenarios:
        module = _module_for(scenario)
        if module is None:
            print(f"# {scenario}: no module in bench/ yet, skipped", flush=True)
            continue
        started = time.perf_counter()
        print(f"# {scenario}: {(module.__doc__ or '').strip().splitlines()[0]}", flush=True)
        try:
            module.run(args)
        except Exception:  # noqa: BLE001 - one crashed scenario must not hide the others
            traceback.print_exc()
            print(f"RESULT {scenario} CRASHED", flush=True)
            crashed.append(scenario)
        print(f"# {scenario}: {time.perf_counter() - started:.0f}s", flush=True)
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
