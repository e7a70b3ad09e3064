"""S-xss: every payload stored in every free-text field, then every staff page loaded in Chromium.

Patients' fields go in through the real inquiry form (and its first visit's UTM parameters and
referrer); staff text goes in through the staff forms. Chromium then opens every staff page it
can reach by links from the queue, the dashboard and the admin pages, plus search results and
captured mail. A payload that runs calls ``__xss(n)``, a Python function exposed to every page;
a blocked one raises a ``securitypolicyviolation`` event or a "Refused to" console message. A
payload must also show as visible text somewhere, so it was stored and escaped, not dropped.
The CSV exports are checked cell by cell for formula neutralisation. SQLite only (the browser
fixtures' live server)."""

from __future__ import annotations

import csv
import io
import itertools
import unicodedata
from collections import defaultdict
from urllib.parse import urljoin, urlsplit

import pytest
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from intake.extensions import db
from intake.jobs import RouteLead, relay_outbox
from intake.models import Lead
from intake.models.types import utcnow
from intake.routing.service import route_lead
from intake.staff.leads.queue_forms import VIEW_LABELS
from tests.browser import conftest as browser_fixtures
from tests.conftest import ABOUT_MS, CONSENT, CONTACT, HEALTH, form_data, hidden_fields, page
from tests.security.xss_payloads import FORMULA_STARTS, PAYLOADS
from tests.staff.conftest import deliver_due_mail

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

# The browser and staff fixtures, used here by name (the SQLite live server and Chromium).
app_factory = browser_fixtures.app_factory
live_server = browser_fixtures.live_server
migrated_sqlite = browser_fixtures.migrated_sqlite
new_context = browser_fixtures.new_context

LEADS = 4
# Staff names are shown on every page and in the audit export's actor column.
ADMIN_NAME = next(p for p in PAYLOADS if p.startswith("@"))
MAX_PAGES = 120
VARIANTS_PER_PATH = 3
# (step, field, longest accepted); attribution slots are posted on the first visit.
PATIENT_SLOTS = [
    ("contact", "first_name", 100), ("contact", "last_name", 100),
    ("contact", "region", 100), ("contact", "caregiver_first_name", 100),
    ("contact", "caregiver_last_name", 100), ("contact", "caregiver_relationship", 100),
    ("contact", "postal_code", 20), ("about_ms", "dmt_name", 200),
    ("about_ms", "symptoms_other", 1000), ("about_ms", "prior_stem_cell_when", 200),
    ("visit", "utm_source", 200), ("visit", "utm_medium", 200), ("visit", "utm_campaign", 200),
    ("visit", "utm_term", 200), ("visit", "utm_content", 200), ("visit", "referrer", 500),
]  # fmt: skip
STAFF_SLOTS = [
    ("notes", "note-text", 5000), ("calls", "call-summary", 5000),
    ("status", "status-reason", 500), ("decision", "decision-note", 5000),
]  # fmt: skip
ADMIN_SLOTS = [("team", 100), ("rule", 100), ("rule_region", 500), ("staff", 200), ("bulk", 500)]
INIT_SCRIPT = """
document.addEventListener('securitypolicyviolation', (e) => {
  try { window.__csp(`${e.violatedDirective} ${e.blockedURI} ${e.sample || ''}`); } catch (_) {}
}, true);
"""
DANGEROUS_DOM = """() => {
  const found = [];
  const urlish = ['href', 'src', 'action', 'formaction', 'data', 'xlink:href'];
  for (const el of document.querySelectorAll('*')) {
    for (const a of el.attributes) {
      const name = a.name.toLowerCase(), value = a.value;
      if (!value.includes('__xss')) continue;
      if (name.startsWith('on') || name === 'srcdoc' || name === 'style'
          || (urlish.includes(name) && /^\\s*javascript:/i.test(value))) {
        found.push(`${el.tagName} ${name}=${value}`);
      }
    }
    if (['SCRIPT', 'STYLE'].includes(el.tagName) && el.textContent.includes('__xss')) {
      found.push(`${el.tagName} ${el.textContent}`);
    }
  }
  return found;
}"""
SELF_TEST_PAGE = (
    "<!doctype html><title>self-test</title><script src=/selftest.js></script>"
    "<img src=x onerror=__xss(901)><p>self-test</p>"
)
JS = {"Content-Type": "text/javascript"}
# How Chromium words a blocked script in the console, old and new.
CSP_CONSOLE_SIGNS = ("Refused to", "Content Security Policy", "Blocked script execution")


def fits(payload: str, limit: int, slot: str) -> bool:
    """Headers carry Latin-1 only; routing conditions are split on commas."""
    if slot == "referrer" and not payload.isascii():
        return False
    if slot == "rule_region" and "," in payload:
        return False
    return len(payload) <= limit


def assign(slots: list[tuple[str, int]]) -> list[str]:
    """A payload per slot: every payload once where it fits, then again round the list."""
    unused, cycle, chosen = list(PAYLOADS), itertools.cycle(PAYLOADS), []
    for name, limit in slots:
        pick = next((p for p in unused if fits(p, limit, name)), None)
        if pick is None:
            pick = next(p for p in cycle if fits(p, limit, name))
        else:
            unused.remove(pick)
        chosen.append(pick)
    assert not unused, f"{len(unused)} payloads found no field: {unused[:3]}"
    return chosen


class Detector:
    """Everything a page did that it must not: calls to __xss, CSP violations, dialogs,
    uncaught errors and dangerous injected markup."""

    def __init__(self, context) -> None:
        self.executed: list[tuple[int, str]] = []
        self.violations: list[str] = []
        self.dangerous: list[str] = []
        self.current = ""
        context.expose_function("__xss", lambda n: self.executed.append((n, self.current)))
        context.expose_function("__csp", lambda text: self.violations.append(text))
        context.add_init_script(INIT_SCRIPT)

    def watch(self, page):
        def console(message) -> None:
            text = message.text
            if any(sign in text for sign in CSP_CONSOLE_SIGNS):
                self.violations.append(f"console on {self.current}: {text}")

        page.on("console", console)
        page.on("pageerror", lambda error: self.violations.append(f"uncaught: {error}"))
        page.on(
            "dialog", lambda dialog: (self.executed.append((-1, self.current)), dialog.dismiss())
        )
        return page

    def visit(self, page, url: str) -> str:
        """Open the page; its visible text."""
        self.current = url
        page.goto(url, wait_until="load")
        return self.read(page)

    def read(self, page) -> str:
        """The page's visible text; dangerous markup found in it is noted."""
        page.wait_for_timeout(50)  # let autofocus handlers and meta refreshes have their go
        found = page.evaluate(DANGEROUS_DOM)
        self.dangerous.extend(f"{self.current}: {item[:120]}" for item in found)
        return page.inner_text("body")


def as_stored(text: str) -> str:
    """What the forms keep of a typed value: no invisible formatting characters (Unicode's
    category Cf, such as U+202E), and no spaces around it."""
    return "".join(char for char in text if unicodedata.category(char) != "Cf").strip()


def normal(text: str) -> str:
    return " ".join(as_stored(text).split())


def post_form(client, page_url: str, action: str, values: dict):
    """Send a form on ``page_url`` as a browser would: its defaults, changed by ``values``."""
    shown = client.get(page_url)
    assert shown.status_code == 200, (page_url, shown.status_code)
    forms = page(shown).find_all("form", method="post")
    form = next(f for f in forms if (f.get("action") or page_url) == action)
    data = MultiDict()
    for field in form.find_all(["input", "select", "textarea"]):
        name, kind = field.get("name"), field.get("type", "text")
        if not name or kind == "submit":
            continue
        if field.name == "select":
            chosen = field.find("option", selected=True) or next(
                (o for o in field.find_all("option") if o.get("value")), None
            )
            data.add(name, chosen.get("value", "") if chosen else "")
        elif field.name == "textarea":
            data.add(name, field.get_text())
        elif kind not in ("checkbox", "radio") or field.has_attr("checked"):
            data.add(name, field.get("value", "y" if kind == "checkbox" else ""))
    for name, value in values.items():
        data.setlist(name, value if isinstance(value, list) else [value])
    response = client.post(action, data=data)
    assert response.status_code in (302, 303), (action, page(response).get_text(" ")[:1500])
    return response


def send_inquiry(app, number: int, fields: dict[str, str]) -> None:
    """One patient's inquiry through the real form, with these free-text answers."""
    client = app.test_client()
    visit = {k: v for k, v in fields.items() if k.startswith("utm_")}
    first = client.get("/inquiry", query_string=visit, headers={"Referer": fields["referrer"]})
    assert first.status_code == 200
    answers = {
        "contact": {
            **CONTACT,
            "filled_by": "someone_else",
            "email": f"p{number}@example.org",
            "phone": "",
        },
        "about_ms": {**ABOUT_MS, "symptoms": ["fatigue", "other"], "prior_stem_cell": "yes"},
        "health": HEALTH,
        "consent": CONSENT,
    }
    for step, field, _limit in PATIENT_SLOTS:
        if step in answers:
            answers[step][field] = fields[field]
    for step in ("contact", "about_ms", "health", "consent"):
        url = "/inquiry" if step == "contact" else f"/inquiry/{step}"
        shown = client.get(url)
        sent = client.post(url, data=form_data(hidden_fields(shown), answers[step]))
        assert sent.status_code in (302, 303), page(sent).get_text(" ")[:1500]


def seed(app, admin, clinician) -> dict:
    """Store every payload; returns what was stored where, for the checks."""
    patient_slots = [(f, limit) for _s, f, limit in PATIENT_SLOTS] * LEADS
    staff_slots = [(f, limit) for _k, f, limit in STAFF_SLOTS] * LEADS
    chosen = iter(assign(patient_slots + staff_slots + ADMIN_SLOTS))
    stored: dict = {"leads": []}
    for number in range(LEADS):
        fields = {field: next(chosen) for _s, field, _l in PATIENT_SLOTS}
        send_inquiry(app, number, fields)
        stored["leads"].append(fields)
    with app.app_context():
        lead_ids = db.session.scalars(select(Lead.id).order_by(Lead.id)).all()
    for lead_id, fields in zip(lead_ids, stored["leads"], strict=True):
        fields["id"] = lead_id
        lead_page = f"/staff/leads/{lead_id}"
        for kind, field, _limit in STAFF_SLOTS:
            fields[field] = next(chosen)
            extra = {"call-outcome": "reached"} if kind == "calls" else {}
            if kind == "decision":
                extra = {"decision-decision": "candidate"}
            client = clinician if kind == "decision" else admin
            post_form(client, lead_page, f"{lead_page}/{kind}", {field: fields[field], **extra})
    last = f"/staff/leads/{lead_ids[-1]}"  # listed on the retention page
    post_form(admin, last, f"{last}/erasure", {"erasure-confirm": "y"})
    stored.update({name: next(chosen) for name, _limit in ADMIN_SLOTS})
    post_form(admin, "/staff/admin/teams/new", "/staff/admin/teams/new", {"name": stored["team"]})
    rule = {"name": stored["rule"], "priority": "1", "cond_region": stored["rule_region"]}
    post_form(admin, "/staff/admin/rules/new", "/staff/admin/rules/new", rule)
    invite = {"email": "invited@clinic.example", "name": stored["staff"], "role": "coordinator"}
    post_form(admin, "/staff/admin/staff/invite", "/staff/admin/staff/invite", invite)
    bulk = {"lead_id": [str(lead_ids[0])], "action": "status", "status": "not_interested"}
    bulk["reason"] = stored["bulk"]
    post_form(admin, "/staff/", "/staff/leads/bulk", bulk)
    with app.app_context():
        for event in relay_outbox(now=utcnow()):
            if isinstance(event, RouteLead):
                route_lead(lead_id=event.lead_id, now=utcnow())
        db.session.commit()
    deliver_due_mail(app)
    return stored


def browser_session(app, context, base_url: str, client) -> None:
    """Hand the test client's signed-in session cookie to the browser context."""
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": base_url}])


def staff_links(page, base_url: str) -> list[str]:
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
    links = []
    for href in hrefs:
        parts = urlsplit(urljoin(base_url, href))
        if parts.netloc != urlsplit(base_url).netloc or not parts.path.startswith("/staff/"):
            continue
        if parts.path.endswith(".csv") or any(
            word in parts.path for word in ("/login", "/logout", "/reset", "/invitation")
        ):
            continue
        links.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return links


def crawl(detector: Detector, page, base_url: str, start: list[str]) -> dict[str, str]:
    """Every staff page reachable by links from ``start``; the visible text of each."""
    seen: dict[str, str] = {}
    variants: dict[str, int] = defaultdict(int)
    queue = list(start)
    while queue and len(seen) < MAX_PAGES:
        path = queue.pop(0)
        base_path = path.split("?")[0]
        if path in seen or (path not in start and variants[base_path] >= VARIANTS_PER_PATH):
            continue
        variants[base_path] += 1
        seen[path] = detector.visit(page, base_url + path)
        if not path.endswith("body.html"):
            queue.extend(staff_links(page, base_url))
    return seen


def search_results(detector: Detector, page, base_url: str, terms: list[str]) -> dict[str, str]:
    """The queue's search, typed and sent in the browser (the term is posted, never in a URL)."""
    seen = {}
    for term in terms:
        detector.visit(page, base_url + "/staff/")
        page.fill("#term", term)
        with page.expect_navigation():
            page.click(".search-form button[type=submit]")
        detector.current = f"search:{term}"
        seen[detector.current] = detector.read(page)
    return seen


def expected_cell(value: str) -> str:
    """The export's rule, written apart from it: a cell that starts a formula, as typed or after
    leading spaces in compatibility form (full-width ＝ is =), gets a leading apostrophe."""
    compatible = unicodedata.normalize("NFKC", value).lstrip(" ")
    formula = value.startswith(FORMULA_STARTS) or compatible.startswith(FORMULA_STARTS)
    return "'" + value if formula else value


def check_csv(text: str) -> list[list[str]]:
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) > 1
    for row in rows:
        for cell in row:
            assert not cell.startswith(FORMULA_STARTS), f"formula cell not neutralised: {cell!r}"
    return rows


def test_stored_payloads_never_run_on_any_staff_page_and_show_as_text(
    app,
    live_server,
    new_context,
    make_staff,
    sign_in,
    capsys,
):
    admin_id = make_staff("admin", name=ADMIN_NAME)
    admin = sign_in(app.test_client(), admin_id)
    clinician = sign_in(app.test_client(), make_staff("clinician"))
    stored = seed(app, admin, clinician)

    context = new_context(viewport={"width": 1280, "height": 900}, is_mobile=False)
    detector = Detector(context)
    browser_session(app, context, live_server, admin)
    browser_page = detector.watch(context.new_page())
    lead_pages = [f"/staff/leads/{fields['id']}" for fields in stored["leads"]]
    views = [f"/staff/?view={view}" for view in VIEW_LABELS]
    admin_pages = ["audit", "mail/outbox", "teams", "rules", "staff"]
    start = ["/staff/", *views, "/staff/dashboard", *lead_pages, "/staff/account",
             "/staff/admin/", *(f"/staff/admin/{name}" for name in admin_pages)]  # fmt: skip
    pages = crawl(detector, browser_page, live_server, start)
    terms = [fields["first_name"] for fields in stored["leads"]]
    pages.update(search_results(detector, browser_page, live_server, terms))

    shown = "\n".join(normal(text) for text in pages.values())
    missing = [p for p in PAYLOADS if normal(p) not in shown]
    with capsys.disabled():
        print(
            f"\nS-xss payloads={len(PAYLOADS)} pages={len(pages)} "
            f"executions={len(detector.executed)} csp_violations={len(detector.violations)} "
            f"dangerous_markup={len(detector.dangerous)} "
            f"not_shown={len(missing)}"
        )
    assert detector.executed == [], detector.executed
    assert detector.violations == [], detector.violations
    assert detector.dangerous == [], detector.dangerous[:5]
    assert missing == [], f"{len(missing)} payloads not visible as text: {missing[:5]}"
    mail_pages = [p for p in pages if p.startswith("/staff/admin/mail/outbox/")]
    assert any(p.endswith("body.html") for p in mail_pages), "no captured mail was opened"

    lead_export = admin.get("/staff/export.csv?view=all").get_data().decode("utf-8-sig")
    lead_rows = check_csv(lead_export)  # read as a spreadsheet does: after the byte order mark
    header = lead_rows[0]
    by_id = {row[header.index("id")]: dict(zip(header, row, strict=True)) for row in lead_rows[1:]}
    for fields in stored["leads"]:
        row = by_id[str(fields["id"])]
        for column in ("first_name", "last_name", "region"):
            assert row[column] == expected_cell(as_stored(fields[column])), (column, row[column])
        assert row["campaign"] == expected_cell(as_stored(fields["utm_campaign"]))
    audit_rows = check_csv(admin.get("/staff/admin/audit/export.csv").get_data(as_text=True))
    assert any(expected_cell(ADMIN_NAME) in row for row in audit_rows), "actor name missing"
    exported = [
        fields[c] for fields in stored["leads"] for c in ("first_name", "last_name", "region")
    ]
    assert {"=", "+", "-"} <= {value[0] for value in exported}


def test_the_detector_catches_a_script_that_runs_and_one_the_policy_blocks(
    app, live_server, new_context
):
    """A test-only page on the live app, under the app's own headers: a same-origin script that
    calls ``__xss`` (allowed by the CSP, so it runs) and an inline handler (blocked)."""
    app.add_url_rule("/selftest.js", "selftest_js", lambda: ("__xss(900);", 200, JS))
    app.add_url_rule("/selftest", "selftest", lambda: SELF_TEST_PAGE)
    context = new_context()
    detector = Detector(context)
    browser_page = detector.watch(context.new_page())

    detector.visit(browser_page, live_server + "/selftest")

    assert [number for number, _url in detector.executed] == [900]
    assert any("script-src" in v for v in detector.violations), detector.violations
    assert any("Content Security Policy" in v for v in detector.violations), detector.violations
    assert detector.dangerous == [f"{live_server}/selftest: IMG onerror=__xss(901)"]
