"""QUALITY.md R9 through the patient's page: twenty patients press "Book this time" on the same
slot at once. One is booked (303 to the confirmation); nineteen get the page again with a plain
message next to the choices and the next free times (409); nobody gets a server error. Both
databases."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from intake.consults.links import invitation_token
from intake.extensions import db
from intake.models import Consult
from tests.conftest import hidden_fields
from tests.factories import NOW, make_lead
from tests.public.consult_support import at, make_world, set_clock

ATTEMPTS = 20
SLOT = at("2026-03-04 14:00")  # Wednesday 09:00 in New York


def test_twenty_patients_pressing_book_on_one_slot_get_one_booking(app_factory, monkeypatch):
    set_clock(monkeypatch)
    app = app_factory(SQLALCHEMY_ENGINE_OPTIONS={"pool_size": ATTEMPTS, "hide_parameters": True})
    world = make_world(app)
    with app.app_context():
        tokens = []
        for n in range(ATTEMPTS):
            lead = make_lead(email=f"patient{n}@example.org", status="contacted")
            db.session.flush()
            tokens.append(invitation_token(lead_id=lead.id, consult_type_id=world.type_id, now=NOW))
        db.session.commit()
    # Each patient has the page open, the time chosen.
    forms = []
    for token in tokens:
        client = app.test_client()
        shown = client.get(f"/consult/{token}")
        assert shown.status_code == 200
        forms.append((client, token, {**hidden_fields(shown), "slot": "2026-03-04T14:00Z"}))
    start = threading.Barrier(ATTEMPTS)

    def press(form) -> tuple[int, str]:
        client, token, data = form
        start.wait(timeout=30)
        response = client.post(f"/consult/{token}", data=data)
        return response.status_code, response.get_data(as_text=True)

    with ThreadPoolExecutor(max_workers=ATTEMPTS) as pool:
        answers = list(pool.map(press, forms, timeout=120))

    codes = sorted(code for code, _ in answers)
    assert codes == [303] + [409] * (ATTEMPTS - 1)
    # Said next to the choices ("not free any more", or "someone has just booked" when the
    # clash is found at the last moment), with the next free times offered instead.
    for code, body in answers:
        if code == 409:
            assert 'id="slot-error"' in body and 'id="next-0"' in body
            assert "not free any more" in body or "just booked that time" in body
    with app.app_context():
        booked = db.session.scalars(db.select(Consult).where(Consult.status == "booked")).all()
        assert [consult.starts_at for consult in booked] == [SLOT]
