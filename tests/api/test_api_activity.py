"""Consults and tasks through the API: ids and times only, keyset pages by time, filtered by
lead and by a time range."""

from __future__ import annotations

from datetime import timedelta

from intake.extensions import db
from intake.models import Consult, ConsultType, StaffTask
from tests.api.conftest import bearer
from tests.factories import NOW, make_lead, make_staff


def _world(app) -> tuple[int, int]:
    with app.app_context():
        host = make_staff("coordinator")
        kind = ConsultType(name="Video consult", kind="video")
        db.session.add(kind)
        first, second = make_lead(), make_lead(email="other@example.org")
        db.session.flush()
        for n in range(5):
            lead = first if n % 2 == 0 else second
            starts = NOW + timedelta(days=n)
            status = "booked" if n >= 3 else "done"  # one booked consult per lead at most
            db.session.add(Consult(uid=f"c{n}@intake.test", lead_id=lead.id, status=status,
                                   consult_type_id=kind.id, staff_user_id=host.id,
                                   starts_at=starts,
                                   ends_at=starts + timedelta(minutes=30)))  # fmt: skip
            db.session.add(StaffTask(lead_id=lead.id, assignee_id=host.id, kind="call_back",
                                     due_at=starts, status="open",
                                     note_sealed="sealed words"))  # fmt: skip
        db.session.commit()
        return first.id, second.id


def test_consults_and_tasks_page_by_time_and_filter_by_lead_and_range(app, make_key):
    first, _second = _world(app)
    token, client = make_key("leads:read"), app.test_client()
    for url in ("/api/v1/consults", "/api/v1/tasks"):
        page_one = client.get(f"{url}?limit=2", headers=bearer(token)).json
        page_two = client.get(
            f"{url}?limit=2&cursor={page_one['next_cursor']}", headers=bearer(token)
        ).json
        assert "items" in page_two, page_two
        assert len(page_one["items"]) == len(page_two["items"]) == 2
        ids = [row["id"] for row in page_one["items"] + page_two["items"]]
        assert len(set(ids)) == 4
        mine = client.get(f"{url}?lead_id={first}", headers=bearer(token)).json["items"]
        assert {row["lead_id"] for row in mine} == {first} and len(mine) == 3
        since = (NOW + timedelta(days=3)).isoformat()
        later = client.get(url, query_string={"starts_from": since}, headers=bearer(token))
        assert len(later.json["items"]) == 2
        assert "sealed" not in later.get_data(as_text=True)
        assert "note" not in later.json["items"][0]
