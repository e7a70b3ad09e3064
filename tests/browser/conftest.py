"""Fixtures and helpers for the browser tests: a live server and a fresh context per test; how a
patient answers the inquiry (each question found by its label, as a person or a screen reader
finds it); the keyboard-only patient of QUALITY.md A2; and the axe-core audit of A1.

These tests run on SQLite only. The shared ``app_factory`` depends on the session's
``database_url``, which is parametrized over SQLite and PostgreSQL; this directory overrides
``app_factory`` with one that copies a migrated SQLite file into the test's ``tmp_path``, so the
parametrization never reaches these tests and nothing here skips (or fails) for want of PostgreSQL.

Chromium itself is the session's one ``chromium`` fixture in tests/conftest.py, shared with the
security probes (Playwright's sync API allows one running instance a thread).
"""

from __future__ import annotations

import re
import shutil
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from intake.extensions import db
from intake.inquiries.answers import read_answers
from intake.models import Inquiry, Lead
from tests.conftest import make_app, service_unavailable
from tests.live import make_live_server

# A phone, as many patients use; the time zone differs from the clinic's and from the one a
# US phone number implies, so a stored "Europe/Lisbon" can only have come from the browser.
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
# Every key, since new_context lays these over PHONE: without them a "desktop" was a touch phone.
DESKTOP = {
    "viewport": {"width": 1280, "height": 900},
    "device_scale_factor": 1,
    "is_mobile": False,
    "has_touch": False,
}
BROWSER_TIME_ZONE = "Europe/Lisbon"
LOOPBACK = frozenset({"127.0.0.1", "localhost"})


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory) -> Path:
    """A migrated, empty SQLite file, made once and copied for each test."""
    from flask_migrate import upgrade

    path = tmp_path_factory.mktemp("browser-db") / "template.sqlite3"
    app = make_app(f"sqlite:///{path}")
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return path


@pytest.fixture
def app_factory(migrated_sqlite, tmp_path):
    """Overrides tests.conftest.app_factory: apps on this test's own SQLite file (no PostgreSQL
    parameter, so each browser test runs once)."""
    path = tmp_path / "intake.sqlite3"
    shutil.copyfile(migrated_sqlite, path)
    made = []

    def build(**overrides):
        made.append(make_app(f"sqlite:///{path}", **overrides))
        return made[-1]

    yield build
    for app in made:
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def live_server(app):
    """``app`` (from app_factory) served on 127.0.0.1 at a free port; yields the base URL, which
    is also the app's INTAKE_BASE_URL (its links in pages and emails)."""
    server = make_live_server(app)
    app.config["INTAKE_BASE_URL"] = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def _loopback_only(route) -> None:
    if urlsplit(route.request.url).hostname in LOOPBACK:
        route.continue_()
    else:
        route.abort("blockedbyclient")


@pytest.fixture
def new_context(chromium):
    """Make fresh browser contexts (no shared cookies); all are closed after the test."""
    contexts = []

    def make(**options):
        context = chromium.new_context(
            **{"locale": "en-US", "timezone_id": BROWSER_TIME_ZONE, **PHONE, **options}
        )
        context.set_default_timeout(15_000)
        context.route("**/*", _loopback_only)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def context(new_context):
    """A phone-sized context with JavaScript on."""
    return new_context()


@pytest.fixture
def script_errors() -> list[str]:
    """Uncaught exceptions and console errors (a CSP violation is one) seen by ``page``."""
    return []


def _watch(page, script_errors: list[str]):
    def console(message) -> None:
        # A step sent with errors comes back as 422 on purpose; Chromium logs that as an error.
        if message.type == "error" and "status of 422" not in message.text:
            script_errors.append(f"console: {message.text}")

    page.on("pageerror", lambda error: script_errors.append(f"uncaught: {error}"))
    page.on("console", console)
    return page


@pytest.fixture
def page(context, script_errors):
    return _watch(context.new_page(), script_errors)


@pytest.fixture
def desktop_page(new_context, script_errors):
    """A desktop-sized page with JavaScript on."""
    return _watch(new_context(**DESKTOP).new_page(), script_errors)


@pytest.fixture
def page_without_js(new_context, script_errors):
    """A phone-sized page with JavaScript turned off, as some privacy tools or old phones do."""
    return _watch(new_context(java_script_enabled=False).new_page(), script_errors)


# --- What the inquiry says ------------------------------------------------------------------

CONFIRMATION = "Thank you, your inquiry has been sent"
CAREGIVER_QUESTIONS = (
    "Your first name",
    "Your last name",
    "How are you related to them?",
    "Your email address",
    "Your phone number",
)


# --- How a person answers ------------------------------------------------------------------


def labelled(scope, question: str):
    """The field whose label is this question, marked "(optional)" or not."""
    return scope.get_by_label(re.compile("^" + re.escape(question) + r"( \(optional\))?$"))


def choose(page: Page, question: str, answer: str) -> None:
    """Pick a radio button by its group's legend and its own label."""
    group = page.get_by_role("group", name=question)
    group.get_by_role("radio", name=answer, exact=True).check()


def tick(page: Page, label: str) -> None:
    page.get_by_role("checkbox", name=label).check()


def fill(page: Page, label: str, value: str) -> None:
    labelled(page, label).fill(value)


def on_step(page: Page, number: int, title: str) -> None:
    """The patient is on this step, and the page says so in words."""
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    expect(page.locator("#progress")).to_have_text(f"Step {number} of 4")
    expect(page).to_have_title(re.compile(rf"^{re.escape(title)} \(step {number} of 4\)"))
    assert_never_says_eligible(page)


def assert_never_says_eligible(page: Page) -> None:
    assert "eligible" not in page.locator("body").inner_text().lower()


def save_and_continue(page: Page) -> None:
    page.get_by_role("button", name="Save and continue").click()


def fill_contact(page: Page, *, for_someone_else: bool = False) -> None:
    if for_someone_else:
        choose(
            page,
            "Who is filling in this form?",
            "I am filling it in for someone with MS (for example as a family member or carer)",
        )
        fill(page, "Your first name", "Augusta")
        fill(page, "Your last name", "King")
        fill(page, "How are you related to them?", "Daughter")
    else:
        choose(page, "Who is filling in this form?", "I have MS and I am filling it in for myself")
    fill(page, "First name of the person with MS", "Ada")
    fill(page, "Last name of the person with MS", "Byron")
    fill(page, "Email address of the person with MS", "Ada.Byron@Example.org")
    fill(page, "Phone number of the person with MS", "(202) 555-0143")
    choose(page, "How would you like us to contact you?", "Email")
    choose(page, "When is the best time to reach you?", "Morning")
    labelled(page, "Country").select_option(label="United States")
    fill(page, "State, province or region", "Virginia")
    fill(page, "ZIP or postal code", "22201")
    choose(page, "How did you hear about us?", "An article on our website")


def fill_about_ms(page: Page) -> None:
    choose(page, "Has a neurologist diagnosed multiple sclerosis?", "Yes")
    choose(page, "Which type of MS?", "Relapsing-remitting (RRMS)")
    fill(page, "In what year was it diagnosed?", "2015")
    choose(page, "Which best describes how you get around today?", "I use a cane or stick")
    choose(page, "Do you know your most recent EDSS score?", "Yes")
    page.get_by_label("What was your most recent EDSS score?").select_option("4.5")
    choose(page, "Are you taking a disease-modifying therapy (DMT) for MS?", "Yes")
    fill(page, "Which one?", "Ocrevus")
    choose(page, "Have you had a relapse in the last 12 months?", "No")
    tick(page, "Tiredness (fatigue)")
    tick(page, "Eyesight")
    choose(page, "Have you had stem cell therapy before?", "No")


def fill_date(page: Page, question: str, day: str, month: str, year: str) -> None:
    """A date's three boxes, found by the group's name and each box's label."""
    group = page.get_by_role("group", name=question)
    for label, value in (("Day", day), ("Month", month), ("Year", year)):
        group.get_by_label(label, exact=True).fill(value)


def fill_health(page: Page, *, date_of_birth: bool = True) -> None:
    if date_of_birth:
        fill_date(page, "Date of birth of the person with MS", "2", "4", "1980")
    choose(page, "Have you had cancer, or treatment for cancer, in the last 5 years?", "No")
    choose(page, "Are you pregnant, breastfeeding, or planning a pregnancy in the next year?", "No")
    choose(page, "Do you have hepatitis B or C, HIV, or tuberculosis?", "No")
    choose(page, "Do you take blood thinners, or have a bleeding disorder?", "No")
    choose(page, "Do you have another serious heart, kidney or liver condition?", "No")
    choose(
        page,
        "Would you be able to travel to the clinic for treatment, with a companion if needed?",
        "Yes",
    )


def give_consents_and_send(page: Page) -> None:
    page.get_by_role("checkbox", name="I have read the privacy notice").check()
    page.get_by_role("checkbox", name="You may contact me by email.").check()
    page.get_by_role(
        "checkbox", name="I understand that this form and any reply are not medical advice"
    ).check()
    page.get_by_role("button", name="Send my inquiry").click()


def review_row(page: Page, question: str):
    """The answer shown beside a question in the review on the last step."""
    return (
        page.locator(".summary-row")
        .filter(has=page.locator("dt").get_by_text(question, exact=True))
        .locator("dd")
    )


def confirmed(page: Page) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text(CONFIRMATION)
    expect(page).to_have_title(re.compile(rf"^{CONFIRMATION}"))
    assert_never_says_eligible(page)


def send_step_one_nearly_empty(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/inquiry")
    fill(page, "Last name of the person with MS", "Byron")
    fill(page, "State, province or region", "Virginia")
    choose(page, "When is the best time to reach you?", "Morning")
    save_and_continue(page)


# --- What was stored -----------------------------------------------------------------------


def stored(app) -> tuple[list[dict], list[dict]]:
    """Every lead (a few columns) and every inquiry with its opened answers."""
    with app.app_context():
        leads = [
            {
                "incomplete": lead.incomplete,
                "time_zone": lead.time_zone,
                "time_zone_source": lead.time_zone_source,
                "email": lead.email,
                "first_name": lead.first_name,
                "filled_by": lead.filled_by,
                "caregiver_first_name": lead.caregiver_first_name,
                "caregiver_relationship": lead.caregiver_relationship,
            }
            for lead in db.session.scalars(db.select(Lead).order_by(Lead.id))
        ]
        inquiries = [
            {"status": inquiry.status, "answers": read_answers(inquiry)}
            for inquiry in db.session.scalars(db.select(Inquiry).order_by(Inquiry.id))
        ]
    return leads, inquiries


# --- The keyboard alone (QUALITY.md A2) ------------------------------------------------------

# What the focused element looks like now, and whether the element focused before it looks
# different now that it has lost focus: a focus indicator is a change, not a resting border.
FOCUS_STYLE = """() => {
  const look = el => {
    const s = getComputedStyle(el);
    return `${s.outlineStyle} ${s.outlineWidth} ${s.outlineColor} | ${s.boxShadow}`;
  };
  const el = document.activeElement, s = getComputedStyle(el);
  const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0;
  const shadow = s.boxShadow !== 'none';
  const before = window.__focused;
  const changed = before && before.el !== el && before.el.isConnected
    ? look(before.el) !== before.look : null;
  window.__focused = {el: el, look: look(el)};
  return {id: el.id, name: el.name || '', tag: el.tagName, visible: outline || shadow,
          focusVisible: el.matches(':focus-visible'), look: look(el),
          previous: before ? before.el.id || before.el.tagName : null, previousChanged: changed};
}"""


class Keyboard:
    """A patient at the keyboard: Tab, Shift+Tab, Space, Enter, arrows and typing, nothing
    else. Each focus stop is checked for a visible focus indicator."""

    def __init__(self, page: Page) -> None:
        self.page, self.keys, self.stops = page, page.keyboard, 0

    def focus(self) -> dict:
        ring = self.page.evaluate(FOCUS_STYLE)
        self.stops += 1
        assert ring["visible"], f"no focus indicator: {ring}"
        assert ring["previousChanged"] is not False, f"the focus indicator stays on blur: {ring}"
        return ring

    def press(self, key: str) -> dict:
        self.keys.press(key)
        return self.focus()

    def tab_to(self, target: str, *, key: str = "Tab", most: int = 4) -> dict:
        """Tab (or Shift+Tab) until the element with this id, or radio group with this name,
        has focus; at most ``most`` presses, so a field left out of the tab order fails."""
        for _ in range(most):
            ring = self.press(key)
            if target in (ring["id"], ring["name"]):
                return ring
        raise AssertionError(f"{target!r} not reached with {most} × {key}; at {ring}")

    def type_into(self, target: str, text: str) -> None:
        self.tab_to(target)
        self.keys.type(text)

    def choose(self, group: str, position: int) -> None:
        """Tab into a radio group with nothing chosen (focus is on its first choice), then
        Space chooses the first, or the arrow keys move to and choose a later one."""
        ring = self.tab_to(group)
        assert ring["id"] == f"{group}-0", ring
        if position == 0:
            self.keys.press("Space")
        for _ in range(position):
            self.press("ArrowDown")
        expect(self.page.locator(f"#{group}-{position}")).to_be_checked()

    def tick(self, box_id: str, most: int = 4) -> None:
        self.tab_to(box_id, most=most)
        self.keys.press("Space")
        expect(self.page.locator(f"#{box_id}")).to_be_checked()

    def pick(self, select: str, text: str) -> None:
        """A closed <select>: typing an option's first letters chooses it."""
        self.tab_to(select)
        self.keys.type(text)

    def send(self, name: str) -> None:
        """Tab to the step's button and press Enter."""
        for _ in range(6):
            self.keys.press("Tab")
            ring = self.focus()
            if ring["tag"] == "BUTTON":
                break
        focused = self.page.locator(":focus")
        expect(focused).to_have_text(name)
        self.keys.press("Enter")


# --- axe-core (QUALITY.md A1) -------------------------------------------------------------------

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
SHOWN_TARGETS = 5


@pytest.fixture(scope="module")
def axe():
    try:
        from axe_playwright_python.sync_playwright import Axe
    except ImportError:  # a dev dependency: `uv sync` installs it
        service_unavailable("axe-core (PyPI package axe-playwright-python) is not installed")
    return Axe()


class Audit:
    """Runs axe on each page it is shown and keeps a readable account of what failed."""

    def __init__(self, axe) -> None:
        self.axe = axe
        self.checked: list[str] = []
        self.failures: list[str] = []

    def check(self, page: Page, name: str, *, skip_rules: dict[str, str] | None = None) -> None:
        """``skip_rules`` maps a rule id to the reason it cannot apply to this page."""
        options: dict = {
            "runOnly": {"type": "tag", "values": WCAG_TAGS},
            "resultTypes": ["violations"],
        }
        if skip_rules:
            options["rules"] = {rule: {"enabled": False} for rule in skip_rules}
        violations = self.axe.run(page, options=options).response["violations"]
        self.checked.append(name)
        if violations:
            self.failures.append(describe(name, page.url, violations))

    def assert_clean(self) -> None:
        assert not self.failures, (
            f"axe found violations on {len(self.failures)} of {len(self.checked)} pages:\n\n"
            + "\n\n".join(self.failures)
        )


def describe(name: str, url: str, violations: list[dict]) -> str:
    lines = [f"== {name} ({url})"]
    for violation in violations:
        nodes = violation["nodes"]
        lines.append(
            f"- {violation['id']} [{violation['impact']}] {violation['help']} "
            f"({len(nodes)} element{'s' if len(nodes) != 1 else ''}; {violation['helpUrl']})"
        )
        for node in nodes[:SHOWN_TARGETS]:
            target = " ".join(str(part) for part in node["target"])
            summary = " ".join((node.get("failureSummary") or "").split())
            lines.append(f"    {target}: {summary[:300]}")
        if len(nodes) > SHOWN_TARGETS:
            lines.append(f"    … and {len(nodes) - SHOWN_TARGETS} more")
    return "\n".join(lines)


@pytest.fixture
def audit(axe) -> Audit:
    return Audit(axe)
