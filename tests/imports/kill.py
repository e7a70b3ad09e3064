"""The kill-and-resume scenario shared by the normal suite (a few thousand rows) and the drill
(50,000): a generated file with errors and duplicates mixed in, imported by a real process
that is killed with SIGKILL part-way, then resumed by another, with every row accounted for,
no lead made twice, and the importing process's memory printed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

import psutil
from sqlalchemy import func, select

from intake.crypto import generate_key
from intake.extensions import db
from intake.imports import service
from intake.imports.importing import start_import
from intake.models import ImportJob, ImportRow, Lead
from intake.models.types import utcnow
from tests.factories import make_lead
from tests.imports.conftest import check, csv_bytes, upload
from tests.live import poll

EXISTING = 50  # leads already on record, which some rows join


def generated_rows(count: int) -> tuple[list[list[str]], int]:
    """``count`` rows: mostly new people; every 10th row has a bad email (an error), every 7th
    repeats an earlier row's person (joins it), every 13th gives an earlier row's email under
    another name (a possible duplicate), every 17th is an existing lead's (joins it). Returns
    the rows and how many have errors."""
    rows, errors = [], 0
    for n in range(count):
        if n % 10 == 9:
            rows.append([f"Err{n}", "Row", f"bad-email-{n}", "", "US"])
            errors += 1
        elif n % 7 == 6 and n > 20:
            m = n - 20 if (n - 20) % 10 != 9 else n - 21
            rows.append(rows[m][:3] + ["", "US"] if rows[m][0].startswith("P") else
                        [f"P{n}", "Test", f"p{n}@example.org", "", "US"])  # fmt: skip
        elif n % 13 == 12 and n > 20:
            rows.append([f"Other{n}", "Name", f"p{n - 5}@example.org", "", "US"])
        elif n % 17 == 16:
            k = n % EXISTING
            rows.append([f"Known{k}", "Lead", f"known{k}@example.org", "", "US"])
        else:
            rows.append([f"P{n}", "Test", f"p{n}@example.org", "", "US"])
    return rows, errors


@dataclass
class Outcome:
    job: ImportJob
    errors_made: int
    leads_before: int
    leads_after: int
    imported_lead_ids: list[int]
    killed_at: int
    rss_mb: list[float]


def _settings(app, database_url, key, tmp_path) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "INTAKE_ENCRYPTION_KEYS": key,
        "SECRET_KEY": "import-kill-" + "k" * 40,
        "INTAKE_ENV": "testing",
        "INTAKE_BASE_URL": "https://intake.test",
        "INTAKE_INSTANCE_PATH": str(tmp_path),
    }


def deciles(samples: list[float]) -> list[float]:
    """The samples at each tenth of the run, rounded (MB)."""
    return [round(samples[len(samples) * k // 10], 1) for k in range(10)] + [round(samples[-1], 1)]


def growth(samples: list[float]) -> float:
    """RSS growth from a fifth of the way into the run (start-up and the first batches done)
    to its end: what holding more rows would show."""
    return samples[-1] - samples[len(samples) // 5] if samples else 0.0


def _progress(app, job_id) -> int:
    with app.app_context():
        value = db.session.scalar(select(ImportJob.progress).where(ImportJob.id == job_id))
        db.session.rollback()
        return value


def _start(env, job_id, batch) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.imports.import_process", str(job_id), str(batch)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def kill_and_resume(app_factory, database_url, tmp_path, *, count: int, batch: int) -> Outcome:
    key = generate_key()
    app = app_factory(INTAKE_ENCRYPTION_KEYS=[key])
    # The importing processes read the real clock, as a worker does, so the times given here
    # are read from it too: the known leads' last inquiries must fall inside the join window
    # the importer applies (and the dry run's, for its count to match), and the sweep must come
    # after the killed process's lease has run out.
    with app.app_context():
        for k in range(EXISTING):
            make_lead(first_name=f"Known{k}", last_name="Lead", email=f"known{k}@example.org",
                      phone=None, last_inquiry_at=utcnow(), consents=())  # fmt: skip
        db.session.commit()
    rows, errors = generated_rows(count)
    job_id = upload(app, csv_bytes(rows), batch=batch)
    check(app, job_id, batch=batch, now=utcnow())
    with app.app_context():
        assert start_import(db.session.get(ImportJob, job_id), now=utcnow())
        db.session.commit()
    env = _settings(app, database_url, key, tmp_path)
    first, rss = _start(env, job_id, batch), []
    watcher = psutil.Process(first.pid)
    poll(lambda: _progress(app, job_id) >= count // 2 or first.poll() is not None,
         timeout=900, every=0.05)  # fmt: skip
    rss.append(watcher.memory_info().rss / 2**20)
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=30)
    first.stdout.close()
    killed_at = _progress(app, job_id)
    assert 0 < killed_at < count, f"not killed mid-way (progress {killed_at})"
    # The sweep, once the dead worker's lease has run out, hands the job to a new worker.
    with app.app_context():
        later = utcnow() + service.LEASE * 2
        assert [e.job_id for e in service.sweep(now=later)] == [job_id]
        db.session.commit()
    second = _start(env, job_id, batch)
    watcher = psutil.Process(second.pid)
    while second.poll() is None:
        rss.append(watcher.memory_info().rss / 2**20)
        time.sleep(0.5)
    output = second.stdout.read()
    second.stdout.close()
    assert second.returncode == 0 and '"outcome": "done"' in output, output
    with app.app_context():
        job = db.session.get(ImportJob, job_id)
        db.session.expunge(job)
        imported = db.session.scalars(
            select(ImportRow.lead_id).where(ImportRow.job_id == job_id,
                                            ImportRow.status == "imported")
        ).all()  # fmt: skip
        leads_after = db.session.scalar(select(func.count()).select_from(Lead))
    print(f"\nIMPORT {count} rows, batch {batch}: killed at {killed_at}, "
          f"RSS of the importing processes (MB): {[round(x, 1) for x in rss[:3]]} ... "
          f"{[round(x, 1) for x in rss[-3:]]}; the resumed run at each tenth: "
          f"{deciles(rss[1:])}, growth after its first fifth: {growth(rss[1:]):.1f} MB; "
          f"{output.strip()}")  # fmt: skip
    return Outcome(job, errors, EXISTING, leads_after, imported, killed_at, rss)


def assert_accounted(outcome: Outcome, count: int) -> None:
    job = outcome.job
    assert job.status == "done"
    assert job.rows_total == count
    assert job.rows_imported + job.rows_joined + job.rows_error == count
    assert job.rows_error == outcome.errors_made
    # Every row the dry run planned is what happened, killed or not.
    assert job.rows_joined == job.rows_would_join
    assert job.rows_imported == job.rows_valid - job.rows_would_join
    # No lead made twice: one lead per imported row, and no lead without its row.
    assert len(set(outcome.imported_lead_ids)) == len(outcome.imported_lead_ids)
    assert outcome.leads_after == outcome.leads_before + job.rows_imported
