"""Thin tasks: ids in, re-fetch, return quietly if done, call one service, commit, publish.

Task names and what becomes a task live in ``intake.jobs``; this module only runs them."""

from __future__ import annotations

import logging
import time

from celery import shared_task
from flask import current_app

from intake import jobs
from intake.conversations import mailbox
from intake.extensions import db
from intake.imports import service as imports
from intake.leads import retention
from intake.messaging import delivery, digest, sends
from intake.models.types import utcnow
from intake.routing import service as routing
from intake.routing import sla
from intake.routing import sweeps as routing_sweeps
from intake.tasks import sweeps as task_sweeps
from intake.webhooks import delivery as webhook_delivery

logger = logging.getLogger(__name__)


@shared_task(name=jobs.RELAY_OUTBOX, ignore_result=True)
def relay_outbox() -> int:
    """Plan the follow-ups and webhooks of new events and start their routing; then send what
    is due."""
    events = jobs.relay_outbox(now=utcnow())
    jobs.publish(events)  # before commit: a failure leaves the events for the next run
    db.session.commit()
    sweep_sends()
    sweep_webhooks()  # an admin's test event or retry, nudged by the web process
    return len(events)


@shared_task(name=jobs.SWEEP_SENDS, ignore_result=True)
def sweep_sends() -> int:
    """Hand the due ledger rows to delivery tasks, a few to a task; how many rows."""
    ids = sends.due_send_ids(now=utcnow())
    db.session.commit()
    jobs.publish(jobs.email_deliveries(ids))
    return len(ids)


@shared_task(name=jobs.DELIVER_EMAIL, bind=True, ignore_result=True)
def deliver_email(self, send_ids: list[int] | None = None, send_id: int | None = None) -> list:
    """Claim, check, send and record ledger rows, one after another. Rows not started once the
    task has run half its soft time limit go to a new task. ``send_id``: one row, as tasks
    queued before rows were batched carry it."""
    ids = [*(send_ids or ()), *(() if send_id is None else (send_id,))]
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    budget_ends = time.monotonic() + self.app.conf.task_soft_time_limit / 2
    outcomes, rest = delivery.deliver_sends(
        ids,
        clock=utcnow,
        commit=db.session.commit,
        redelivered=redelivered,
        time_left=lambda: time.monotonic() < budget_ends,
    )
    if rest:
        jobs.publish([jobs.DeliverEmail(send_ids=tuple(rest))])
    return outcomes


@shared_task(name=jobs.ROUTE_LEAD, ignore_result=True)
def route_lead(lead_id: int, trigger: str) -> None:
    """Give the lead an owner by the routing rules (or a better one once it is complete)."""
    routing.route_on_event(lead_id=lead_id, trigger=trigger, now=utcnow())
    db.session.commit()
    sweep_sends()


@shared_task(name=jobs.ROUTE_UNROUTED, ignore_result=True)
def route_unrouted() -> int:
    """Route leads whose routing task never ran (lost with a broker restart, say)."""
    routed = routing_sweeps.route_unrouted(now=utcnow())
    db.session.commit()
    sweep_sends()
    return routed


@shared_task(name=jobs.ASSIGN_HELD_LEADS, ignore_result=True)
def assign_held_leads() -> int:
    """Give leads a team holds to its members as their working hours start."""
    given = routing_sweeps.assign_held_leads(now=utcnow())
    db.session.commit()
    sweep_sends()
    return given


@shared_task(name=jobs.SWEEP_SLA, ignore_result=True)
def sweep_sla() -> dict:
    """Remind owners before the first-contact SLA, escalate and reassign at breach."""
    counts = sla.sweep_sla(now=utcnow())
    db.session.commit()
    sweep_sends()
    return counts


@shared_task(name=jobs.SWEEP_TASKS, ignore_result=True)
def sweep_tasks() -> dict:
    """Remind assignees of tasks that came due; tell the team lead of tasks long overdue."""
    hours = current_app.config["INTAKE_TASK_ESCALATE_HOURS"]
    counts = task_sweeps.sweep_tasks(now=utcnow(), escalate_hours=hours)
    db.session.commit()
    sweep_sends()
    return counts


@shared_task(name=jobs.STAFF_DIGEST, ignore_result=True)
def staff_digest() -> int:
    """Plan today's digest for each active staff member (once per person per day)."""
    planned = digest.plan_digests(now=utcnow())
    db.session.commit()
    sweep_sends()
    return planned


@shared_task(name=jobs.PURGE_RETENTION, ignore_result=True)
def purge_retention() -> int:
    """Erase closed leads untouched for the retention period, a committed batch at a time."""
    days, batch, purged = current_app.config["INTAKE_RETENTION_DAYS"], 200, 0
    while True:
        done = retention.purge_expired(now=utcnow(), retention_days=days, limit=batch)
        db.session.commit()
        purged += done
        if done < batch:
            return purged


@shared_task(name=jobs.SWEEP_REPLIES, ignore_result=True)
def sweep_replies() -> dict:
    """Read the reply mailbox (each message committed as it is read); then send the owners'
    notices. An unreachable mailbox is logged and left to the next run."""
    try:
        counts = mailbox.sweep_mailbox(now=utcnow(), commit=db.session.commit)
    except mailbox.MailboxError as error:
        db.session.rollback()
        logger.warning(
            "reply mailbox sweep failed; the next run retries", extra={"error": str(error)}
        )
        counts = {"error": str(error)}
    db.session.commit()
    sweep_sends()  # the owners' notices of the replies read, even when the mailbox then failed
    return counts


# Lead import: each task works for at most IMPORT_BUDGET seconds (well inside the time limit),
# then hands the rest of the job to a new task.
IMPORT_BUDGET = 120.0


def _import_stage(run, job_id: int, again: jobs.Event) -> str:
    """Run one stage of an import job for up to IMPORT_BUDGET seconds; if it paused there,
    hand the rest to a new task (``again``)."""
    outcome = run(
        job_id,
        clock=utcnow,
        commit=db.session.commit,
        batch=current_app.config["INTAKE_IMPORT_BATCH"],
        budget_seconds=IMPORT_BUDGET,
    )
    if outcome == "paused":
        jobs.publish([again])
    return outcome


@shared_task(name=jobs.CHECK_IMPORT, ignore_result=True)
def check_import(job_id: int) -> str:
    """Run an import job's dry run: every row checked, nothing created."""
    return _import_stage(imports.run_check, job_id, jobs.CheckImport(job_id=job_id))


@shared_task(name=jobs.RUN_IMPORT, ignore_result=True)
def run_import(job_id: int) -> str:
    """Import an import job's pending rows, a committed batch at a time."""
    return _import_stage(imports.run_import, job_id, jobs.RunImport(job_id=job_id))


@shared_task(name=jobs.SWEEP_IMPORTS, ignore_result=True)
def sweep_imports() -> int:
    """Start import jobs waiting for a worker: new, resumed, or whose worker vanished."""
    events = imports.sweep(now=utcnow())
    jobs.publish(events)  # before commit: a failure leaves the jobs for the next sweep
    db.session.commit()
    return len(events)


@shared_task(name=jobs.SWEEP_WEBHOOKS, ignore_result=True)
def sweep_webhooks() -> int:
    """Hand each webhook delivery whose (re)try is due to a delivery task."""
    ids = webhook_delivery.due_delivery_ids(now=utcnow())
    db.session.commit()
    return jobs.publish(jobs.DeliverWebhook(delivery_id=delivery_id) for delivery_id in ids)


@shared_task(name=jobs.DELIVER_WEBHOOK, bind=True, ignore_result=True)
def deliver_webhook(self, delivery_id: int) -> str:
    """Claim (committed before posting), sign, post and record one webhook delivery."""
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    if not webhook_delivery.claim_delivery(
        delivery_id=delivery_id, now=utcnow(), redelivered=redelivered
    ):
        db.session.rollback()
        return "skipped"
    db.session.commit()
    outcome = webhook_delivery.attempt_delivery(delivery_id=delivery_id, now=utcnow())
    db.session.commit()
    return outcome
