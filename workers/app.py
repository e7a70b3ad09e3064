"""The worker and beat entry point: ``celery -A workers.app worker`` (``intake worker``).

The Celery app is the one ``create_app`` configured; this module adds the tasks and the
schedule. Every periodic job is safe to run twice: its work is claimed row by row. Each pool
process keeps its own SMTP connection from its start to its shutdown (``intake.messaging.smtp``).
"""

from __future__ import annotations

import gc

from celery.schedules import crontab
from celery.signals import worker_init, worker_process_init, worker_process_shutdown

from intake import create_app, jobs
from intake.messaging import smtp
from workers import tasks  # noqa: F401  (shared tasks: they join the app created below)

flask_app = create_app()
celery = flask_app.extensions["celery"]
celery.conf.timezone = flask_app.config["INTAKE_CLINIC_TIME_ZONE"]
celery.conf.beat_schedule = {
    "relay the outbox": {"task": jobs.RELAY_OUTBOX, "schedule": 10.0},
    "send what is due": {"task": jobs.SWEEP_SENDS, "schedule": 30.0},
    "retry webhook deliveries that are due": {"task": jobs.SWEEP_WEBHOOKS, "schedule": 10.0},
    "keep first-contact SLAs": {"task": jobs.SWEEP_SLA, "schedule": 60.0},
    "remind and escalate staff tasks": {"task": jobs.SWEEP_TASKS, "schedule": 60.0},
    "read the reply mailbox": {"task": jobs.SWEEP_REPLIES, "schedule": 60.0},
    "route leads whose routing was lost": {"task": jobs.ROUTE_UNROUTED, "schedule": 60.0},
    "start and resume lead imports": {"task": jobs.SWEEP_IMPORTS, "schedule": 10.0},
    "give held leads out as hours start": {
        "task": jobs.ASSIGN_HELD_LEADS,
        "schedule": 60.0,
    },
    "purge contact details past retention": {
        "task": jobs.PURGE_RETENTION,
        "schedule": crontab(hour=3, minute=30),
    },
    "staff morning digest": {
        "task": jobs.STAFF_DIGEST,
        "schedule": crontab(hour=8, minute=0, day_of_week="mon-fri"),
    },
}


@worker_init.connect
def _share_with_the_pool(**_kwargs) -> None:
    """The worker's main process, before it forks the pool: build what each pool process would
    otherwise build for itself (``intake.warm_up``), then freeze the objects out of the garbage
    collector's reach, so the pool processes share those memory pages copy-on-write."""
    flask_app.extensions["intake.warm_up"]()
    gc.freeze()


@worker_process_init.connect
def _keep_smtp_open(**_kwargs) -> None:
    """A new pool process opens its own connection when it first sends, never its parent's."""
    smtp.keep_open()


@worker_process_shutdown.connect
def _close_smtp(**_kwargs) -> None:
    smtp.close_kept()
