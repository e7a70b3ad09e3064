"""Staff see and use each lead's language: a column and a filter on the queue (carried by the
views, pages, search and export like the other filters, audited, within the query budget), and
the language on the lead page. On SQLite and PostgreSQL."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from sqlalchemy import insert, select

from intake.extensions import db
from intake.models import Lead
from tests.factories import LEAD, audit_count, last_audit
from tests.staff.conftest import QueryCounter, page
from tests.staff.leads.conftest import leads, search, shown_ids, start


def language_cells(response) -> dict[int, object]:
    """Each row's lead id and its Language cell."""
    soup = page(response)
    headers = [th.get_text(strip=True) for th in soup.select("thead th")]
    column = headers.index("Language")
    found = {}
    for row in soup.select("tbody tr"):
        cells = row.find_all(["th", "td"], recursive=False)
        lead_id = int(row.select_one("th a")["href"].rstrip("/").split("/")[-1])
        found[lead_id] = cells[column]
    return found


def test_the_queue_shows_each_leads_language_short_with_its_full_name_for_screen_readers(
    app, staff_client
):
    start(app, "María", "Muñoz Peña", "maria@example.org", language="es")
    start(app, "Ada", "Byron", "ada@example.org", phone="+44 20 7946 0958")
    spanish, english = leads(app)
    assert (spanish.language, english.language) == ("es", "en")

    cells = language_cells(staff_client("admin").get("/staff/?view=all"))

    for lead, short, name in ((spanish, "ES", "Español"), (english, "EN", "English")):
        cell = cells[lead.id]
        assert cell.find(attrs={"aria-hidden": "true"}).get_text() == short
        full = cell.select_one(".visually-hidden")
        assert (full.get_text(), full["lang"]) == (name, lead.language)


def test_the_language_filter_keeps_only_leads_in_that_language_together_with_other_filters(
    staff_client, seed
):
    new_es = seed(language="es", status="new")
    contacted_es = seed(language="es", status="contacted")
    new_en = seed(language="en", status="new")
    client = staff_client("admin")

    assert sorted(shown_ids(client.get("/staff/?view=all&language=es"))) == [new_es, contacted_es]
    assert shown_ids(client.get("/staff/?view=all&language=en")) == [new_en]
    assert shown_ids(client.get("/staff/?view=all&language=es&status=new")) == [new_es]
    assert sorted(shown_ids(client.get("/staff/?view=all&language="))) == sorted(
        [new_es, contacted_es, new_en]
    )


def test_the_language_filter_offers_each_language_named_in_itself_and_keeps_the_choice(
    staff_client, seed
):
    seed(language="es")
    soup = page(staff_client("admin").get("/staff/?view=all&language=es"))

    select = soup.select_one("select#language")
    assert soup.select_one('label[for="language"]').get_text() == "Language"
    options = [(o["value"], o.get_text(), o.get("lang")) for o in select.find_all("option")]
    assert options == [("", "Any language", None), ("en", "English", "en"), ("es", "Español", "es")]
    assert select.find("option", selected=True)["value"] == "es"
    assert soup.select_one("details.queue-filters").has_attr("open")


def test_a_language_that_is_not_an_option_is_reported_next_to_the_filter_and_ignored(
    staff_client, seed
):
    lead = seed(language="es")
    response = staff_client("admin").get("/staff/?view=all&language=fr")

    soup = page(response)
    assert soup.select_one("#language-error").get_text(strip=True).endswith("list.")
    assert soup.select_one("#language")["aria-describedby"] == "language-error"
    assert shown_ids(response) == [lead]


def test_the_language_filter_is_carried_by_the_views_the_pages_the_search_and_the_export(
    app_factory, make_staff, sign_in
):
    app = app_factory(INTAKE_QUEUE_PAGE_SIZE=2)
    with app.app_context():
        rows = [dict(LEAD, language="es") for _ in range(5)] + [dict(LEAD) for _ in range(2)]
        db.session.execute(insert(Lead), rows)
        db.session.commit()
        spanish = sorted(db.session.scalars(select(Lead.id).where(Lead.language == "es")))
    client = sign_in(app.test_client(), make_staff("admin"))

    seen, url = [], "/staff/?view=all&language=es"
    while url:
        response = client.get(url)
        seen += shown_ids(response)
        soup = page(response)
        for link in soup.select('nav[aria-label="Lead views"] a'):
            assert parse_qs(urlsplit(link["href"]).query)["language"] == ["es"]
        export = soup.find("a", string="Export these leads as CSV")["href"]
        assert parse_qs(urlsplit(export).query)["language"] == ["es"]
        following = soup.select_one('a[rel="next"]')
        url = following["href"] if following else None
    assert sorted(seen) == spanish and len(seen) == len(set(seen))

    found = search(client, "byron", language="es")
    assert parse_qs(urlsplit(found.location).query)["language"] == ["es"]
    assert sorted(shown_ids(client.get(found.location))) == spanish[:2]  # the first page
    exported = client.get(export).get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert len(exported) == 1 + 5 and all(line.endswith(",es") for line in exported[1:])


def test_a_queue_page_filtered_by_language_costs_the_same_five_sql_statements(
    app, make_staff, sign_in, seed
):
    me = make_staff("coordinator", team="East")
    for language in ("es", "es", "es", "en"):
        seed(owner_id=me, language=language)
    client = sign_in(app.test_client(), me)
    url = "/staff/?view=mine&status=new&language=es&sort=newest"
    client.get(url)  # the session was just opened; a later touch is at most once a minute

    with QueryCounter(app) as counter:
        response = client.get(url)

    assert len(shown_ids(response)) == 3
    assert counter.count == 5, "\n\n".join(counter.statements)


def test_the_language_filter_is_audited_with_the_other_filters(app, make_staff, sign_in, seed):
    me = make_staff("coordinator")
    wanted = seed(owner_id=me, language="es")
    seed(owner_id=me)
    client = sign_in(app.test_client(), me)
    before = audit_count(app)

    client.get("/staff/?view=mine&status=new&language=es")

    assert audit_count(app) == before + 1
    row = last_audit(app)
    assert row.action == "leads.listed" and row.lead_ids == [wanted]
    assert row.detail["filters"] == {"status": ["new"], "language": "es"}


def test_the_lead_page_shows_the_language_beside_the_contact_preferences(app, staff_client):
    start(app, "José", "García Márquez", "jose@example.org", language="es")
    start(app, "Ada", "Byron", "ada@example.org", phone="+44 20 7946 0958")
    spanish, english = leads(app)
    client = staff_client("coordinator")

    for lead, name in ((spanish, "Español"), (english, "English")):
        soup = page(client.get(f"/staff/leads/{lead.id}"))
        contact = soup.find("section", attrs={"aria-labelledby": "contact-heading"})
        terms = [dt.get_text(strip=True) for dt in contact.select("dl.lead-details dt")]
        assert terms.index("Language") == terms.index("Preferred contact") + 1
        shown = contact.find("dt", string="Language").find_next_sibling("dd").span
        assert (shown.get_text(), shown["lang"]) == (name, lead.language)
