"""S-access, declared: who may use every route in the URL map (anonymous visitors, each role,
and whether team scope applies), in this one reviewed place, apart from the code it checks; with
the ``world`` of objects a route can name, and the requests that walk the map.

test_access_matrix.py holds it to the app; test_id_bounds.py and the security probes
(tests/security) walk the same map with the same world, rather than a copy.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from intake.conversations.attachments import attachment_context
from intake.extensions import db, encryption
from intake.models import (
    ApiKey,
    ArticleLink,
    AvailabilityException,
    CapturedEmail,
    CapturedText,
    ConsultType,
    ConversationMessage,
    DuplicatePair,
    ImportJob,
    LeadMerge,
    MessageAttachment,
    RoutingRule,
    Send,
    StaffTask,
    Team,
    WebhookDelivery,
    WebhookEndpoint,
)
from intake.models.types import utcnow
from tests.factories import make_lead

ROLES = ("admin", "coordinator", "clinician")
STAFF = frozenset(ROLES)
ADMIN = frozenset({"admin"})
WORKERS = frozenset({"admin", "coordinator"})
CLINICIANS = frozenset({"clinician"})
ANYONE = None  # public: no sign-in needed


@dataclass(frozen=True)
class Rule:
    roles: frozenset[str] | None
    lead: bool = False  # the route acts on one lead, so team scope applies


MATRIX: dict[str, Rule] = {
    # Public and probes.
    "static": Rule(ANYONE),
    "api.healthz": Rule(ANYONE),
    "api.readyz": Rule(ANYONE),
    # Prometheus's scrape: no session, the metrics token or a loopback address is the check
    # (tests/api/test_metrics.py); never a staff route and never audited.
    "api.metrics": Rule(ANYONE),
    # The REST API: no staff session; its bearer keys and scopes have their own matrix
    # (tests/api/test_api_access.py). Without a key every call is a 401 problem.
    "api-v1.openapi_json": Rule(ANYONE),
    "api-v1.reference": Rule(ANYONE),
    "api_v1_leads.list_leads": Rule(ANYONE),
    "api_v1_leads.lead": Rule(ANYONE),
    "api_v1_leads.add_note": Rule(ANYONE),
    "api_v1_inquiries.create_inquiry": Rule(ANYONE),
    "api_v1_activity.list_consults": Rule(ANYONE),
    "api_v1_activity.list_tasks": Rule(ANYONE),
    "api_v1_webhooks.list_webhook_events": Rule(ANYONE),
    "api_v1_webhooks.webhooks": Rule(ANYONE),
    "api_v1_webhooks.webhook": Rule(ANYONE),
    "api_v1_webhooks.rotate_webhook_secret": Rule(ANYONE),
    "api_v1_webhooks.list_webhook_deliveries": Rule(ANYONE),
    "api_v1_webhooks.retry_webhook_delivery": Rule(ANYONE),
    "public.home": Rule(ANYONE),
    "public.favicon": Rule(ANYONE),
    "public.in_language": Rule(ANYONE),
    "public.contact": Rule(ANYONE),
    "public.contact_post": Rule(ANYONE),
    "public.step": Rule(ANYONE),
    "public.sent": Rule(ANYONE),
    "public.resume": Rule(ANYONE),
    "public.unsubscribe": Rule(ANYONE),
    "public.unsubscribe_post": Rule(ANYONE),
    "public.privacy": Rule(ANYONE),
    "public.terms": Rule(ANYONE),
    "public.forget_draft": Rule(ANYONE),
    # The embeddable start of the inquiry, framed by the clinic's articles (issue 15).
    "public.embed": Rule(ANYONE),
    "public.embed_in_language": Rule(ANYONE),
    # The patient's booking page: the signed link is the capability (tests/public).
    "public.consult_in_language": Rule(ANYONE),
    "public.consult_booking": Rule(ANYONE),
    "public.consult_booking_post": Rule(ANYONE),
    "public.consult_cancel": Rule(ANYONE),
    # The text provider's webhook: no session, its signature is the check (404 without SMS_URL).
    "hooks.inbound_text": Rule(ANYONE),
    # Signing in, before there is a session.
    "staff.login": Rule(ANYONE),
    "staff.login_code": Rule(ANYONE),
    "staff.login_enrol": Rule(ANYONE),
    "staff.login_finish": Rule(ANYONE),
    "staff.logout": Rule(ANYONE),
    "staff.reset_request": Rule(ANYONE),
    "staff.reset_password": Rule(ANYONE),
    "staff.accept_invitation": Rule(ANYONE),
    # Their own account.
    "staff.account": Rule(STAFF),
    "staff.account_recovery_codes": Rule(STAFF),
    "staff.account_sessions": Rule(STAFF),
    "staff.change_password": Rule(STAFF),
    "staff.account_hours": Rule(STAFF),
    "staff.account_day_change": Rule(STAFF),
    "staff.account_day_change_remove": Rule(STAFF),
    "staff.account_calendar_feed": Rule(STAFF),
    "staff.account_calendar_feed_create": Rule(STAFF),
    "staff.account_calendar_feed_revoke": Rule(STAFF),
    # The staff calendar; its feed is read with a secret address, no sign-in (404 without one).
    "staff.calendar_day": Rule(STAFF),
    "staff.calendar_week": Rule(STAFF),
    "staff.calendar_feed": Rule(ANYONE),
    # Leads.
    "staff.queue": Rule(STAFF),
    "staff.search": Rule(STAFF),
    "staff.dashboard": Rule(STAFF),
    "staff.dashboard_attribution": Rule(STAFF),
    "staff.article_links": Rule(WORKERS),
    "staff.export": Rule(WORKERS),
    "staff.bulk": Rule(WORKERS),
    "staff.lead": Rule(STAFF, lead=True),
    "staff.lead_note": Rule(STAFF, lead=True),
    "staff.lead_status": Rule(WORKERS, lead=True),
    "staff.lead_call": Rule(WORKERS, lead=True),
    "staff.consult_book": Rule(WORKERS, lead=True),
    "staff.consult_move": Rule(WORKERS, lead=True),
    "staff.consult_cancel": Rule(WORKERS, lead=True),
    "staff.consult_outcome": Rule(WORKERS, lead=True),
    "staff.lead_do_not_contact": Rule(WORKERS, lead=True),
    "staff.lead_assign": Rule(WORKERS, lead=True),
    "staff.lead_merge": Rule(WORKERS, lead=True),
    "staff.lead_erasure": Rule(WORKERS, lead=True),
    "staff.lead_message": Rule(WORKERS, lead=True),
    "staff.lead_replies_read": Rule(WORKERS, lead=True),
    "staff.lead_attachment": Rule(STAFF, lead=True),
    "staff.lead_decision": Rule(CLINICIANS, lead=True),
    # Staff tasks: a task is reached through its lead, so team scope applies.
    "staff.my_tasks": Rule(WORKERS),
    "staff.lead_task": Rule(WORKERS, lead=True),
    "staff.task_done": Rule(WORKERS, lead=True),
    "staff.task_cancel": Rule(WORKERS, lead=True),
    "staff.task_move": Rule(WORKERS, lead=True),
    # Possible duplicates: both leads of a pair (or a merge) must be in scope.
    "staff.duplicates": Rule(WORKERS),
    "staff.duplicate_pair": Rule(WORKERS, lead=True),
    "staff.duplicate_merge": Rule(WORKERS, lead=True),
    "staff.duplicate_dismiss": Rule(WORKERS, lead=True),
    "staff.merge_undo": Rule(WORKERS, lead=True),
    # Administration: admins only.
    **{
        endpoint: Rule(ADMIN)
        for endpoint in (
            "staff.admin_home",
            "staff.admin_staff",
            "staff.admin_staff_invite",
            "staff.admin_staff_edit",
            "staff.admin_staff_disable",
            "staff.admin_staff_enable",
            "staff.admin_staff_resend",
            "staff.admin_staff_reset_factor",
            "staff.admin_staff_send_reset",
            "staff.admin_staff_unlock",
            "staff.admin_teams",
            "staff.admin_team",
            "staff.admin_team_new",
            "staff.admin_rules",
            "staff.admin_rule",
            "staff.admin_rule_new",
            "staff.admin_cadences",
            "staff.admin_cadence_preview",
            "staff.admin_cadence_save",
            "staff.admin_cadence_reset",
            "staff.admin_templates",
            "staff.admin_template",
            "staff.admin_template_save",
            "staff.admin_template_preview",
            "staff.admin_template_version",
            "staff.admin_questionnaire",
            "staff.admin_reevaluate",
            "staff.admin_dead_letters",
            "staff.admin_dead_letter_action",
            "staff.admin_outbox",
            "staff.admin_outbox_message",
            "staff.admin_outbox_html",
            "staff.admin_texts",
            "staff.admin_audit",
            "staff.admin_audit_export",
            "staff.admin_audit_verify",
            "staff.admin_retention",
            "staff.admin_erase",
            "staff.admin_api_keys",
            "staff.admin_api_key_create",
            "staff.admin_api_key_revoke",
            "staff.admin_consult_types",
            "staff.admin_article",
            "staff.admin_article_new",
            "staff.admin_consult_type",
            "staff.admin_consult_type_new",
            "staff.admin_staff_hours",
            "staff.admin_staff_day_change",
            "staff.admin_staff_day_change_remove",
            "staff.admin_imports",
            "staff.admin_import_upload",
            "staff.admin_import",
            "staff.admin_import_mapping",
            "staff.admin_import_start",
            "staff.admin_import_resume",
            "staff.admin_import_cancel",
            "staff.admin_import_errors",
            "staff.admin_webhooks",
            "staff.admin_webhook_new",
            "staff.admin_webhook",
            "staff.admin_webhook_active",
            "staff.admin_webhook_rotate",
            "staff.admin_webhook_test",
            "staff.admin_webhook_dead",
            "staff.admin_webhook_retry",
        )
    },
}

# What counts as "let in": the page, a redirect after a POST, or the form's own refusal of an
# empty body. Never 401/403, never the sign-in page, never a 404 for an object that exists.
LET_IN = {200, 302, 303, 400, 405, 409, 410, 422}


@pytest.fixture
def world(app, make_staff):
    """Two teams; an admin; a coordinator and a clinician in team A; a coordinator in team B;
    a lead of team A; and one of each other object a route can name."""
    ids = {role: make_staff(role, team="Team A") for role in ("coordinator", "clinician")}
    ids["admin"] = make_staff("admin")
    ids["other_team"] = make_staff("coordinator", team="Team B")
    victim = make_staff("coordinator", team="Team A")
    with app.app_context():
        team = db.session.scalar(db.select(Team).where(Team.name == "Team A"))
        lead = make_lead(owner_id=ids["coordinator"], team_id=team.id)
        rule = RoutingRule(name="Matrix rule", priority=5, team_id=team.id, conditions={})
        now = utcnow()
        dead = Send(key=f"{lead.id}:matrix:1", lead_id=lead.id, cadence="nurture", step=1,
                    template="nurture", status="dead", due_at=now, attempts=6)  # fmt: skip
        mail = CapturedEmail(message_id="<matrix@intake.test>", recipient=lead.email,
                             subject="Hi", headers={}, text_body="Hi", html_body="-")  # fmt: skip
        text = CapturedText(message_id="text-matrix", recipient=lead.phone, body="Hi", segments=1)
        db.session.add_all([rule, dead, mail, text])
        twin = make_lead(owner_id=ids["coordinator"], team_id=team.id)
        gone = make_lead(team_id=team.id, status="merged", merged_into_id=lead.id)
        pair = DuplicatePair(lead_id=lead.id, other_id=twin.id, reason="same phone, different name")
        merge = LeadMerge(kept_id=lead.id, merged_id=gone.id, merged_at=now, moved={},
                          before={"kept": {}, "merged": {"status": "new"}})  # fmt: skip
        task = StaffTask(lead_id=lead.id, assignee_id=ids["coordinator"], kind="call_back",
                         due_at=now, status="open")  # fmt: skip
        db.session.add_all([pair, merge, task])
        consult_type = ConsultType(name="Matrix consult", kind="phone")
        day_change = AvailabilityException(staff_user_id=victim, day=now.date())
        article = ArticleLink(title="Matrix article", utm_content="matrix", utm_campaign="m")
        job = ImportJob(filename="matrix.csv", encoding="utf-8", delimiter=",",
                        headers=["First name"], mapping={}, status="checked")  # fmt: skip
        db.session.add_all([consult_type, day_change, article, job])
        attachment = _attachment(lead)
        api_key = ApiKey(name="Matrix key", prefix="matrix", secret_hash="0" * 64,
                         scopes=["leads:read"])  # fmt: skip
        db.session.add(api_key)
        hook, hook_delivery = _webhook(ids["admin"], now)
        db.session.commit()
        args = {"lead_id": lead.id, "user_id": victim, "team_id": team.id, "rule_id": rule.id,
                "send_id": dead.id, "action": "retry", "message_id": mail.id,
                "template": "confirmation", "step": 1, "token": "not-a-real-token",
                "step_id": "about_ms", "filename": "intake.css", "name": "nurture",
                "language": "es", "pair_id": pair.id, "merge_id": merge.id,
                "key": "first_reply", "channel": "text", "version": 0,
                "attachment_id": attachment.id, "type_id": consult_type.id,
                "change_id": day_change.id, "task_id": task.id,
                "article_id": article.id, "key_id": api_key.id, "job_id": job.id,
                "endpoint_id": hook.id, "delivery_id": hook_delivery.id,
                "switch": "disable"}  # fmt: skip
    return ids, args


def _attachment(lead) -> MessageAttachment:
    """A reply from ``lead`` with a small PDF kept, sealed as the mailbox sweep keeps it."""
    reply = ConversationMessage(lead_id=lead.id, direction="in", channel="email", kind="reply",
                                external_id="<matrix-reply@example.org>")  # fmt: skip
    db.session.add(reply)
    db.session.flush()
    row = MessageAttachment(message_id=reply.id, filename_sealed="", content_type="application/pdf",
                            size=8, data_sealed="")  # fmt: skip
    db.session.add(row)
    db.session.flush()
    for part, value in (("filename", b"letter.pdf"), ("data", b"%PDF-1.4")):
        sealed = encryption.keyring.seal(value, context=attachment_context(row, part))
        setattr(row, f"{part}_sealed", sealed)
    return row


def _webhook(admin_id: int, now) -> tuple[WebhookEndpoint, WebhookDelivery]:
    """A webhook endpoint (on, so its test event may be queued) and one dead delivery."""
    endpoint = WebhookEndpoint(url="https://hooks.example.org/in", events=["lead.created"],
                               secret_sealed="-", created_by_id=admin_id)  # fmt: skip
    db.session.add(endpoint)
    db.session.flush()
    row = WebhookDelivery(endpoint_id=endpoint.id, message_id="msg_matrix", payload={},
                          event_type="lead.created", status="dead", attempts=8,
                          next_attempt_at=now)  # fmt: skip
    db.session.add(row)
    db.session.flush()
    return endpoint, row


def requests_for(app, args) -> list[tuple[str, str, str]]:
    """(endpoint, method, url) for every route and method in the URL map. Built as a list, so
    the request context used for ``url_for`` is gone before any request is made."""
    from flask import url_for

    with app.test_request_context():
        return [
            (rule.endpoint, method, url_for(rule.endpoint, **{a: args[a] for a in rule.arguments}))
            for rule in app.url_map.iter_rules()
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
        ]


def send(client, method: str, url: str):
    response = client.open(url, method=method, data={}, follow_redirects=False)
    response.close()  # static files are streamed from an open file
    return response


def to_sign_in(response) -> bool:
    return response.status_code == 302 and "/staff/login" in response.headers.get("Location", "")
