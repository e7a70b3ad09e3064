"""The Celery settings every process shares (web, worker, beat, tests and drills)."""

from __future__ import annotations

from pathlib import Path


def celery_settings(
    redis_url: str | None, instance_path: Path | None, *, visibility_timeout: int = 3600
) -> dict:
    """Reliable delivery: late acks, redelivery when a worker dies, one task at a time per
    process, JSON only, no results, and a time limit well inside Redis's visibility timeout.
    Without Redis, a local SQLite broker in the instance folder (the embedded default)."""
    time_limit = min(300, visibility_timeout // 2)
    settings = {
        "broker_url": redis_url or f"sqla+sqlite:///{instance_path / 'broker.sqlite3'}",
        "task_serializer": "json",
        "accept_content": ["json"],
        "task_ignore_result": True,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        # When the broker connection drops, a task already running finishes its work: its
        # ledger row is claimed, so a redelivered copy finds nothing to do. Cancelling it
        # (Celery 6's planned default) would strand that claimed row until the claim times
        # out; drill R4 caught exactly that. Set explicitly so the choice is ours.
        "worker_cancel_long_running_tasks_on_connection_loss": False,
        "worker_prefetch_multiplier": 1,
        "task_time_limit": time_limit,
        "task_soft_time_limit": int(time_limit * 0.8),
        "task_default_queue": "default",
        "task_routes": {
            "email.*": {"queue": "email"},
            "routing.*": {"queue": "routing"},
            "periodic.*": {"queue": "periodic"},
            "outbox.*": {"queue": "periodic"},
        },
        "broker_connection_retry_on_startup": True,
        "broker_connection_timeout": 2,
        "worker_hijack_root_logger": False,
        "worker_send_task_events": False,
    }
    if redis_url:
        settings["broker_transport_options"] = {
            "visibility_timeout": visibility_timeout,
            "socket_timeout": 5,
            "socket_connect_timeout": 2,
            "retry_on_timeout": True,
        }
    return settings
