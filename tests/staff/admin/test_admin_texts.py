"""The captured texts of the embedded mode: read by admins beside the captured mail, each page
audited with the leads whose numbers it shows."""

from __future__ import annotations

from intake.extensions import db
from intake.messaging.texts import TextMessage, deliver_text
from tests.factories import audit_count, last_audit, make_lead
from tests.staff.conftest import page

NUMBER = "+12025550143"  # the factories' lead's phone


def capture(app, count: int, recipient: str = NUMBER) -> None:
    with app.app_context():
        for n in range(count):
            body = f"Hello <b>Ada</b> {n}" + ("\nSee you soon. " * 15 if n == 0 else "")
            deliver_text(
                TextMessage(recipient=recipient, body=body, message_id=f"text-{recipient}-{n}")
            )
        db.session.commit()


def test_captured_texts_are_listed_newest_first_with_parts_and_their_leads(app, staff_client):
    client = staff_client("admin")
    with app.app_context():
        own, carer = make_lead(), make_lead(phone=None, caregiver_phone=NUMBER)
        other = make_lead(phone="+12025550100")
        db.session.commit()
        ids = (own.id, carer.id, other.id)
    capture(app, 55)
    capture(app, 1, recipient="+12025550199")  # a number no lead has
    before = audit_count(app)
    first = page(client.get("/staff/admin/mail/texts"))
    assert audit_count(app) == before + 1
    row = last_audit(app)
    assert (row.action, row.lead_ids) == ("text.listed", [ids[0], ids[1]])
    assert row.detail == {"before": None, "shown": 50}
    rows = first.select("tbody tr")
    assert len(rows) == 50
    cells = [cell.get_text(strip=True) for cell in rows[0].find_all(["th", "td"])]
    assert cells[1:] == ["+12025550199", "2", rows[0].find("pre").get_text(strip=True), "None"]
    assert rows[1].find("pre").get_text() == "Hello <b>Ada</b> 54"  # escaped, shown as written
    links = [a["href"] for a in rows[1].select("td a")]
    assert links == [f"/staff/leads/{ids[0]}", f"/staff/leads/{ids[1]}"]
    second = page(client.get(first.find("a", rel="next")["href"]))
    bodies = [pre.get_text() for pre in second.select("tbody pre")]
    assert len(bodies) == 6 and bodies[-1].startswith("Hello <b>Ada</b> 0\n")
    assert second.select("tbody tr")[-1].select("td")[1].get_text() == "2"  # the long one


def test_with_nothing_captured_the_page_says_so(app, staff_client):
    response = staff_client("admin").get("/staff/admin/mail/texts")
    assert "No captured texts." in page(response).get_text()
