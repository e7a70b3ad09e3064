"""API keys (``admin.api_keys``): the keys the clinic's other systems call /api/v1 with.

A new key's token is shown once, on the page that answers its creation, and never again (only
its hash is kept). Revoking is immediate: the next call with the key is refused."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from intake.accounts.api_keys import api_keys, create_api_key, revoke_api_key
from intake.extensions import db
from intake.models import API_SCOPES, ApiKey
from intake.models.types import utcnow
from intake.staff import bp
from intake.staff.access import audit, requires
from intake.staff.admin.forms import ApiKeyForm


def _render_list(form: ApiKeyForm, status: int = 200):
    return (
        render_template("staff/admin/api_keys.html", keys=api_keys(), form=form, scopes=API_SCOPES),
        status,
    )


@bp.get("/admin/api-keys")
@requires("admin.api_keys")
def admin_api_keys():
    """Every key (name, prefix, scopes, created, last used, revoked) and the form for a new one."""
    audit("admin.viewed", target="staff.admin_api_keys")
    db.session.commit()
    return _render_list(ApiKeyForm())


@bp.post("/admin/api-keys")
@requires("admin.api_keys")
def admin_api_key_create():
    """Make a key; the answer shows its token, once."""
    form = ApiKeyForm()
    if not form.validate():
        audit("admin.viewed", target="staff.admin_api_keys", outcome="failed")
        db.session.commit()
        return _render_list(form, 422)
    made = create_api_key(
        name=form.name.data, scopes=form.scopes.data, created_by_id=current_user.id, now=utcnow()
    )
    audit(
        "api_key.created",
        target=f"api_key:{made.key.id}",
        detail={"prefix": made.key.prefix, "scopes": made.key.scopes},
    )
    db.session.commit()
    return render_template("staff/admin/api_key_created.html", key=made.key, token=made.token)


@bp.post("/admin/api-keys/<int:key_id>/revoke")
@requires("admin.api_keys")
def admin_api_key_revoke(key_id: int):
    """Revoke a key: calls made with it are refused from now on."""
    key = db.session.get(ApiKey, key_id)
    if key is None:
        audit("api_key.revoked", target=f"api_key:{key_id}", outcome="failed")
        db.session.commit()
        abort(404)
    revoked = revoke_api_key(key, utcnow())
    audit("api_key.revoked", target=f"api_key:{key.id}", outcome="ok" if revoked else "failed")
    db.session.commit()
    if revoked:
        flash(_("The key “%(name)s” is revoked.", name=key.name), "success")
    else:
        flash(_("The key “%(name)s” was already revoked.", name=key.name), "info")
    return redirect(url_for("staff.admin_api_keys"), 303)
