"""A process that imports one job to its end, as a worker would: ``python -m
tests.imports.import_process JOB_ID BATCH``, configured from the environment like the workers
(DATABASE_URL, INTAKE_ENCRYPTION_KEYS...). The kill tests start it and ``kill -9`` it mid-way.
It prints its outcome and peak memory (ru_maxrss) as one JSON line."""

from __future__ import annotations

import json
import resource
import sys

from intake import create_app
from intake.extensions import db
from intake.imports import service
from intake.models.types import utcnow


def main(job_id: int, batch: int) -> None:
    app = create_app()
    with app.app_context():
        outcome = service.run_import(job_id, clock=utcnow, commit=db.session.commit, batch=batch)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"outcome": outcome, "peak_rss_mb": round(peak_mb, 1)}), flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
