"""Lead import (``admin.import``): upload a CSV file, map its columns, run the dry run, import,
and follow the progress and the final report. The workers do the work (intake.imports); these
pages only hand jobs over and show them. Audited with ids and counts, never a value."""

from __future__ import annotations

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from intake.extensions import csrf, db
from intake.imports.checking import row_counts
from intake.imports.fields import FIELDS
from intake.imports.importing import start_import
from intake.imports.reading import NoHeaderRow, UnreadableFile, start_job
from intake.imports.report import cancel, error_report, first_errors, recent_jobs, resume
from intake.imports.report import set_mapping as keep_mapping
from intake.models import ImportJob
from intake.models.types import utcnow
from intake.staff import bp
from intake.staff.access import audit, requires
from intake.staff.admin.import_forms import UploadForm, mapping_form

RUNNING = ("checking", "importing")


def _job(job_id: int) -> ImportJob:
    job = db.session.get(ImportJob, job_id)
    if job is None:
        abort(404)
    return job


def _counts(job: ImportJob) -> dict:
    return {
        "rows": job.rows_total,
        "valid": job.rows_valid,
        "errors": job.rows_error,
        "would_join": job.rows_would_join,
        "imported": job.rows_imported,
        "joined": job.rows_joined,
    }


@bp.get("/admin/imports")
@requires("admin.import")
def admin_imports():
    """The upload form and the recent imports."""
    jobs = recent_jobs()
    audit("import.listed", target=request.endpoint, detail={"jobs": [job.id for job in jobs]})
    db.session.commit()
    return render_template(
        "staff/admin/imports.html",
        jobs=jobs,
        form=UploadForm(),
        max_mb=current_app.config["INTAKE_IMPORT_MAX_BYTES"] // 2**20,
    )


@csrf.exempt
@bp.post("/admin/imports")
@requires("admin.import")
def admin_import_upload():
    """Read the file into sealed rows (streamed, a batch at a time) and show its columns."""
    request.max_content_length = current_app.config["INTAKE_IMPORT_MAX_BYTES"]
    try:
        csrf.protect()  # after raising the limit: the token is read from the same body
        form = UploadForm()
        valid = form.validate_on_submit()
    except RequestEntityTooLarge:
        return _refused(_("That file is larger than %(mb)d MB.", mb=_max_mb()), "too_large")
    if not valid:
        return _refused(form.file.errors[0] if form.file.errors else _("Choose a file."), "none")
    upload = form.file.data
    try:
        job = start_job(
            stream=upload.stream,
            filename=upload.filename,
            now=utcnow(),
            created_by_id=current_user.id,
            batch=current_app.config["INTAKE_IMPORT_BATCH"],
        )
    except NoHeaderRow:
        db.session.rollback()
        message = _(
            "The first row of that file looks like a person's details, not column names. "
            "The first row must name the columns, like First name, Email, Phone."
        )
        return _refused(message, "no_header")
    except UnreadableFile as exc:
        db.session.rollback()
        return _refused(_("That file could not be read: %(why)s.", why=str(exc)), "unreadable")
    audit(
        "import.uploaded",
        target=f"import:{job.id}",
        detail={"rows": job.rows_total, "columns": len(job.headers)},
    )
    db.session.commit()
    flash(
        _("%(rows)d rows read. Check the columns, then run the dry run.", rows=job.rows_total),
        "success",
    )
    return redirect(url_for("staff.admin_import", job_id=job.id), code=303)


def _max_mb() -> int:
    return current_app.config["INTAKE_IMPORT_MAX_BYTES"] // 2**20


def _refused(message: str, reason: str):
    db.session.rollback()
    audit("import.uploaded", target="import", detail={"reason": reason}, outcome="failed")
    db.session.commit()
    flash(message, "error")
    return redirect(url_for("staff.admin_imports"), code=303)


@bp.get("/admin/imports/<int:job_id>")
@requires("admin.import")
def admin_import(job_id: int):
    """One import: its mapping, progress (the page refreshes itself while a worker runs)
    and its report: counts that add up to the file's rows, and the first errors."""
    job = _job(job_id)
    form = mapping_form(job.headers, job.mapping, job.default_country, formdata=None)
    errors = first_errors(job.id) if job.rows_error else []
    counts = row_counts(job.id) if job.status in ("done", "cancelled") else {}
    audit("import.viewed", target=f"import:{job.id}", detail=_counts(job))
    db.session.commit()
    return render_template(
        "staff/admin/import_job.html",
        job=job,
        form=form,
        errors=errors,
        counts=counts,
        fields=FIELDS,
        refresh=job.status in RUNNING,
    )


def _acted(job, action: str, ok: bool, *, detail: dict, said: tuple[str, str]):
    """Audit an action on ``job`` (``import.<action>``), commit, say how it went (``said``: on
    success, on refusal) and show the job again."""
    audit(
        f"import.{action}",
        target=f"import:{job.id}",
        detail=detail,
        outcome="ok" if ok else "failed",
    )
    db.session.commit()
    flash(said[0] if ok else said[1], "success" if ok else "error")
    return redirect(url_for("staff.admin_import", job_id=job.id), code=303)


@bp.post("/admin/imports/<int:job_id>/mapping")
@requires("admin.import")
def admin_import_mapping(job_id: int):
    """Keep the mapping and start the dry run."""
    job = _job(job_id)
    form = mapping_form(job.headers, job.mapping, job.default_country)
    ok = form.validate() and keep_mapping(
        job, mapping=form.mapping(), default_country=form.default_country.data
    )
    return _acted(
        job,
        "checked",
        ok,
        detail={"rows": job.rows_total, "fields": sorted(job.mapping)},
        said=(
            _("The dry run has started: nothing is imported yet."),
            _("The mapping cannot change now."),
        ),
    )


@bp.post("/admin/imports/<int:job_id>/start")
@requires("admin.import")
def admin_import_start(job_id: int):
    """Start importing the checked rows."""
    job = _job(job_id)
    started = start_import(job, now=utcnow())
    return _acted(
        job,
        "started",
        started,
        detail={"rows": job.rows_total, "valid": job.rows_valid, "errors": job.rows_error},
        said=(_("The import has started."), _("Run the dry run before importing.")),
    )


@bp.post("/admin/imports/<int:job_id>/resume")
@requires("admin.import")
def admin_import_resume(job_id: int):
    """Hand an import whose worker stopped to another worker."""
    job = _job(job_id)
    resumed = resume(job, now=utcnow())
    return _acted(
        job,
        "resumed",
        resumed,
        detail={"done": job.progress},
        said=(
            _("The import will carry on from where it stopped."),
            _("The import is still running, or is not an import to resume."),
        ),
    )


@bp.post("/admin/imports/<int:job_id>/cancel")
@requires("admin.import")
def admin_import_cancel(job_id: int):
    """Stop a job; leads already imported stay (each is an ordinary lead now)."""
    job = _job(job_id)
    cancelled = cancel(job, now=utcnow())
    return _acted(
        job,
        "cancelled",
        cancelled,
        detail={"done": job.progress},
        said=(
            _("The import is cancelled. Rows not imported yet were skipped."),
            _("That import has already finished."),
        ),
    )


@bp.get("/admin/imports/<int:job_id>/errors.csv")
@requires("admin.import")
def admin_import_errors(job_id: int):
    """Every problem found, as CSV: row numbers and messages, no values."""
    job = _job(job_id)
    audit("import.errors_exported", target=f"import:{job.id}", detail={"errors": job.rows_error})
    db.session.commit()
    return Response(
        stream_with_context(error_report(job.id)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="import-{job.id}-errors.csv"'},
    )
