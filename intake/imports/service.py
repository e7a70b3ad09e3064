"""The import's entry points for the workers: run a job's dry run or import, and the sweep
that hands waiting jobs (new, resumed, or whose worker vanished) to workers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from intake import jobs
from intake.imports.checking import CheckRun
from intake.imports.importing import ImportRun
from intake.imports.stages import LEASE, run_stage, stale_jobs


def run_check(job_id: int, *, batch: int, **run) -> str:
    """The dry run from its first row (it only marks rows, so starting over is safe).

    ``run``: ``clock`` and ``commit`` (callables), and optionally ``budget_seconds`` (hand the
    rest to a new task after that long) and ``owner`` (the lease holder's name)."""
    return _run(job_id, "checking", CheckRun(batch=batch), **run)


def run_import(job_id: int, *, batch: int, **run) -> str:
    """The import of the job's pending rows, one committed batch at a time (``run`` as for
    ``run_check``)."""
    return _run(job_id, "importing", ImportRun(batch=batch), **run)


def _run(
    job_id: int,
    stage: str,
    step,
    *,
    clock: Callable[[], datetime],
    commit: Callable[[], None],
    budget_seconds: float | None = None,
    owner: str | None = None,
) -> str:
    return run_stage(
        job_id,
        stage=stage,
        step=step,
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
