"""API keys in the admin area: made with a name and scopes, the token shown once and stored
only as a hash, listed with prefix, scopes and use, and revoked at once; each step audited."""

from __future__ import annotations

import hashlib

from werkzeug.datastructures import MultiDict

from intake.extensions import db
from intake.models import ApiKey
from tests.factories import audit_count, last_audit
from tests.staff.conftest import csrf_token, page


def test_an_admin_makes_a_key_sees_it_once_and_revokes_it(app, staff_client):
    client = staff_client("admin")
    token = csrf_token(client, "/staff/admin/api-keys")
    form = MultiDict([("csrf_token", token), ("name", "Call centre"),
                      ("scopes", "inquiries:create"), ("scopes", "leads:read")])  # fmt: skip
    made = client.post("/staff/admin/api-keys", data=form)
    assert made.status_code == 200 and made.headers["Cache-Control"] == "no-store"
    secret = page(made).find(id="api-token").get_text(strip=True)
    assert secret.startswith("ik_")
    row = last_audit(app)
    assert row.action == "api_key.created" and secret not in str(row.detail)
    with app.app_context():
        key = db.session.scalar(db.select(ApiKey))
        prefix, raw = secret.removeprefix("ik_").split("_", 1)
        assert (key.prefix, key.scopes) == (prefix, ["inquiries:create", "leads:read"])
        assert key.secret_hash == hashlib.sha256(raw.encode()).hexdigest()
        key_id = key.id

    assert client.get("/api/v1/leads").status_code == 401  # a session cookie is not a key
    used = app.test_client().get("/api/v1/leads", headers={"Authorization": f"Bearer {secret}"})
    assert used.status_code == 200
    listing = client.get("/staff/admin/api-keys")
    text = listing.get_data(as_text=True)
    assert secret not in text and f"ik_{prefix}_" in text and "Call centre" in text
    assert "never" not in page(listing).select_one("#api-keys tbody tr").get_text()  # last used

    before = audit_count(app)
    revoked = client.post(f"/staff/admin/api-keys/{key_id}/revoke", data={"csrf_token": token})
    assert revoked.status_code == 303 and audit_count(app) == before + 1
    assert last_audit(app).action == "api_key.revoked"
    again = app.test_client().get("/api/v1/leads", headers={"Authorization": f"Bearer {secret}"})
    assert again.status_code == 401


def test_a_key_needs_a_name_and_a_scope(app, staff_client):
    client = staff_client("admin")
    token = csrf_token(client, "/staff/admin/api-keys")
    response = client.post("/staff/admin/api-keys", data={"csrf_token": token, "name": ""})
    assert response.status_code == 422
    assert len(page(response).select(".error-summary li")) == 2
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(ApiKey)) == 0
