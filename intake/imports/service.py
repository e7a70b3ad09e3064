"""The import's entry points for the workers: run a job's dry run or import, and the sweep
that hands waiting jobs (new, resumed, or whose worker vanished) to workers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from intake import jobs
from intake.imports.checking import CheckRun
from intake.imports.importing import ImportRun
from intake.imports.stages import LEASE, run_stage, stale_jobs


def run_check(
    job_id: int,
    *,
    clock: Callable[[], datetime],
    commit: Callable[[], None],
    batch: int,
    budget_seconds: float | None = None,
    owner: str | None = None,
) -> str:
    """The dry run from its first row (it only marks rows, so starting over is safe)."""
    return run_stage(
        job_id,
        stage="checking",
        step=CheckRun(batch=batch),
        clock=clock,
        commit=commit,
        owner=owner,
        budget_seconds=budget_seconds,
        lease=LEASE,
    )


def run_import(
    job_id: int,
    *,
    clock: Callable[[], datetime],
    commit: Callable[[], None],
    batch: int,
    budget_seconds: float | None = None,
    owner: str | None = None,
) -> str:
    """The import of the job's pending rows, one committed batch at a time."""
    return run_stage(
        job_id,
        stage="importing",
        step=ImportRun(batch=batch),
        clock=clock,
        commit=commit,
        owner=owner,
        budget_seconds=budget_seconds,
        lease=LEASE,
    )


def sweep(*, now: datetime) -> list[jobs.Event]:
    """A task for each job waiting for a worker; the caller publishes, then commits."""
    return [
        jobs.CheckImport(job_id=job_id) if status == "checking" else jobs.RunImport(job_id=job_id)
        for job_id, status in stale_jobs(now=now)
    ]
