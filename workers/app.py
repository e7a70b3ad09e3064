"""The worker and beat entry point: ``celery -A workers.app worker`` (``intake worker``).

The Celery app is the one ``create_app`` configured; this module adds the tasks and the
schedule. Every periodic job is safe to run twice: its work is claimed row by row.
"""

from __future__ import annotations

from celery.schedules import crontab

from intake import create_app

flask_app = create_app()
celery = flask_app.extensions["celery"]
celery.conf.timezone = flask_app.config["INTAKE_CLINIC_TIME_ZONE"]
celery.conf.beat_schedule = {
    "relay the outbox": {"task": "outbox.relay", "schedule": 10.0},
    "send what is due": {"task": "periodic.sweep_sends", "schedule": 30.0},
    "keep first-contact SLAs": {"task": "periodic.sweep_sla", "schedule": 60.0},
    "route leads whose routing was lost": {"task": "periodic.route_unrouted", "schedule": 60.0},
    "give held leads out as hours start": {
        "task": "periodic.assign_held_leads",
        "schedule": 60.0,
    },
    "purge contact details past retention": {
        "task": "periodic.purge_retention",
        "schedule": crontab(hour=3, minute=30),
    },
    "staff morning digest": {
        "task": "periodic.staff_digest",
        "schedule": crontab(hour=8, minute=0, day_of_week="mon-fri"),
    },
}

import workers.tasks  # noqa: E402,F401  (registers the tasks)
