"""The workers' side: the sweep hands waiting jobs out once per lease, and the tasks run the
dry run and the import to their end (called in-process, as a worker calls them)."""

from __future__ import annotations

from datetime import timedelta

from intake import jobs
from intake.extensions import db
from intake.imports.importing import start_import
from intake.imports.report import set_mapping
from intake.models import ImportJob
from tests.imports.conftest import NOW, csv_bytes, upload

ROWS = [["Ada", "Byron", "ada@example.org", "", "US"], ["Alan", "Turing", "", "", "GB"]]


def test_the_sweep_starts_each_waiting_job_once_per_lease_and_the_tasks_finish_it(app, monkeypatch):
    import workers.tasks as tasks

    published = []
    monkeypatch.setattr(tasks, "utcnow", lambda: NOW)
    monkeypatch.setattr(jobs, "publish", lambda events: published.extend(events) or 0)
    job_id = upload(app, csv_bytes(ROWS))
    with app.app_context():
        assert tasks.sweep_imports() == 0  # uploaded: waiting for its mapping, not a worker
        job = db.session.get(ImportJob, job_id)
        set_mapping(job, mapping=dict(job.mapping), default_country=None)
        db.session.commit()
        assert tasks.sweep_imports() == 1
        assert tasks.sweep_imports() == 0  # queued: not handed out again within the lease
        assert published == [jobs.CheckImport(job_id=job_id)]
        assert tasks.check_import(job_id) == "done"
        assert tasks.check_import(job_id) == "busy"  # a second copy finds nothing to do
        job = db.session.get(ImportJob, job_id)
        assert (job.status, job.rows_valid, job.rows_error) == ("checked", 1, 1)
        assert start_import(job, now=NOW)
        db.session.commit()
        monkeypatch.setattr(tasks, "utcnow", lambda: NOW + timedelta(seconds=1))
        assert tasks.sweep_imports() == 1
        assert published[-1] == jobs.RunImport(job_id=job_id)
        assert tasks.run_import(job_id) == "done"
        job = db.session.get(ImportJob, job_id)
        assert (job.status, job.rows_imported, job.rows_error) == ("done", 1, 1)
