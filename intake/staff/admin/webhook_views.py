"""Outgoing webhooks (``admin.webhooks``): subscriptions, their secrets (shown once), a test
event, each endpoint's recent deliveries, and dead deliveries to retry. Nothing here posts to a
subscriber: deliveries are rows a worker sends (``jobs.relay_soon`` nudges it after commit)."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from intake import jobs
from intake.extensions import db
from intake.models import WebhookDelivery, WebhookEndpoint
from intake.models.types import utcnow
from intake.staff import bp
from intake.staff.access import audit, deny, requires
from intake.staff.admin.home_views import audit_page_view
from intake.staff.admin.webhook_forms import EVENT_LABELS, WebhookForm
from intake.staff.queries.webhooks import dead_deliveries, endpoints_with_counts, recent_deliveries
from intake.webhooks import delivery, endpoints
from intake.webhooks.endpoints import EndpointData, EndpointInputError


def _endpoint(endpoint_id: int) -> WebhookEndpoint:
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        deny(target=f"webhook_endpoint:{endpoint_id}", code=404)
    return endpoint


def _allow_private() -> bool:
    return current_app.config["INTAKE_WEBHOOK_ALLOW_PRIVATE"]


@bp.get("/admin/webhooks")
@requires("admin.webhooks")
def admin_webhooks():
    """Every subscribed address, its events, whether it is on, and how its deliveries stand."""
    rows = endpoints_with_counts()
    audit_page_view()
    return render_template("staff/admin/webhooks.html", rows=rows, labels=EVENT_LABELS)


@bp.route("/admin/webhooks/new", methods=["GET", "POST"])
@requires("admin.webhooks")
def admin_webhook_new():
    """Subscribe an address to events; its signing secret is shown once."""
    form = WebhookForm()
    if request.method == "GET":
        audit_page_view()
    elif form.validate_on_submit():
        try:
            endpoint, secret = endpoints.create_endpoint(
                data=_data(form), actor=current_user, allow_private=_allow_private(), now=utcnow()
            )
        except EndpointInputError as error:
            db.session.rollback()
            form[error.field].errors.append(error.message)
        else:
            audit("webhooks.created", target=f"webhook_endpoint:{endpoint.id}",
                  detail={"events": endpoint.events})  # fmt: skip
            db.session.commit()
            return _show_secret(endpoint, secret, created=True)
    return _form_page(form, None)


@bp.route("/admin/webhooks/<int:endpoint_id>", methods=["GET", "POST"])
@requires("admin.webhooks")
def admin_webhook(endpoint_id: int):
    """Edit an endpoint's address, description and events; its recent deliveries below."""
    endpoint = _endpoint(endpoint_id)
    form = WebhookForm(obj=endpoint)
    if request.method == "GET":
        audit_page_view(webhook_endpoint_id=endpoint_id)
    elif form.validate_on_submit() and _updated(form, endpoint):
        flash(_("The webhook is saved."), "success")
        return redirect(url_for("staff.admin_webhook", endpoint_id=endpoint_id), code=303)
    return _form_page(form, endpoint)


def _form_page(form: WebhookForm, endpoint: WebhookEndpoint | None):
    if request.method == "POST":
        audit("webhooks.saved", outcome="failed", detail={"fields": sorted(form.errors)},
              target=f"webhook_endpoint:{endpoint.id}" if endpoint else None)  # fmt: skip
        db.session.commit()
    deliveries = recent_deliveries(endpoint.id) if endpoint is not None else []
    page = render_template("staff/admin/webhook_form.html", form=form, endpoint=endpoint,
                           deliveries=deliveries)  # fmt: skip
    return page, 422 if form.errors else 200


def _data(form: WebhookForm) -> EndpointData:
    return EndpointData(url=form.url.data or "", description=form.description.data or "",
                        events=tuple(form.events.data or ()))  # fmt: skip


def _updated(form: WebhookForm, endpoint: WebhookEndpoint) -> bool:
    try:
        endpoints.update_endpoint(endpoint=endpoint, data=_data(form),
                                  allow_private=_allow_private())  # fmt: skip
    except EndpointInputError as error:
        db.session.rollback()
        form[error.field].errors.append(error.message)
        return False
    audit("webhooks.saved", target=f"webhook_endpoint:{endpoint.id}",
          detail={"events": endpoint.events})  # fmt: skip
    db.session.commit()
    return True


def _show_secret(endpoint: WebhookEndpoint, secret: str, *, created: bool):
    """The secret, in this one response only (never flashed: the session is a cookie)."""
    return render_template(
        "staff/admin/webhook_secret.html", endpoint=endpoint, secret=secret, created=created
    )


@bp.post("/admin/webhooks/<int:endpoint_id>/<any(disable, enable):switch>")
@requires("admin.webhooks")
def admin_webhook_active(endpoint_id: int, switch: str):
    """Stop sending to an endpoint, or start again."""
    endpoint = _endpoint(endpoint_id)
    changed = endpoints.set_active(endpoint=endpoint, active=switch == "enable", now=utcnow())
    audit(f"webhooks.{switch}d", target=f"webhook_endpoint:{endpoint_id}",
          detail={"changed": changed})  # fmt: skip
    db.session.commit()
    flash(_("The webhook is on.") if endpoint.active else _("The webhook is off."), "success")
    return redirect(url_for("staff.admin_webhook", endpoint_id=endpoint_id), code=303)


@bp.post("/admin/webhooks/<int:endpoint_id>/rotate")
@requires("admin.webhooks")
def admin_webhook_rotate(endpoint_id: int):
    """Replace the signing secret; the new one is shown once."""
    endpoint = _endpoint(endpoint_id)
    secret = endpoints.rotate_secret(endpoint=endpoint, now=utcnow())
    audit("webhooks.secret_rotated", target=f"webhook_endpoint:{endpoint_id}")
    db.session.commit()
    return _show_secret(endpoint, secret, created=False)


@bp.post("/admin/webhooks/<int:endpoint_id>/test")
@requires("admin.webhooks")
def admin_webhook_test(endpoint_id: int):
    """Queue a test event for the endpoint; its result shows among the deliveries."""
    endpoint = _endpoint(endpoint_id)
    if not endpoint.active:
        audit("webhooks.test_sent", target=f"webhook_endpoint:{endpoint_id}", outcome="failed")
        db.session.commit()
        flash(_("Turn the webhook on before sending a test event."), "error")
    else:
        delivery_id = delivery.queue_test(endpoint=endpoint, now=utcnow())
        audit("webhooks.test_sent", target=f"webhook_endpoint:{endpoint_id}",
              detail={"delivery": delivery_id})  # fmt: skip
        db.session.commit()
        jobs.relay_soon()
        flash(_("A test event is on its way. Reload this page to see how it went."), "success")
    return redirect(url_for("staff.admin_webhook", endpoint_id=endpoint_id), code=303)


@bp.get("/admin/webhooks/dead")
@requires("admin.webhooks")
def admin_webhook_dead():
    """Deliveries that gave up after their tries, with a Retry button each."""
    rows = dead_deliveries()
    audit_page_view()
    return render_template("staff/admin/webhook_dead.html", rows=rows)


@bp.post("/admin/webhooks/deliveries/<int:delivery_id>/retry")
@requires("admin.webhooks")
def admin_webhook_retry(delivery_id: int):
    """Try a dead delivery again from the first try (the same webhook-id)."""
    if db.session.get(WebhookDelivery, delivery_id) is None:
        deny(target=f"webhook_delivery:{delivery_id}", code=404)
    retried = delivery.retry_dead(delivery_id=delivery_id, now=utcnow())
    audit("webhooks.retried", target=f"webhook_delivery:{delivery_id}",
          detail={"retried": retried})  # fmt: skip
    db.session.commit()
    if retried:
        jobs.relay_soon()
        flash(_("Delivery #%(id)s will be tried again now.", id=delivery_id), "success")
    else:
        flash(_("Delivery #%(id)s is not dead, so there is nothing to retry.", id=delivery_id),
              "info")  # fmt: skip
    return redirect(url_for("staff.admin_webhook_dead"), code=303)
