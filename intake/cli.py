"""The ``intake`` command: the Flask CLI with this app's commands added."""

from __future__ import annotations

import ipaddress
import json
import os
import sys
import time
import urllib.request

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from intake.accounts.staff import StaffAccountError, create_staff_user, has_staff
from intake.crypto import generate_key
from intake.extensions import db
from intake.models.types import utcnow
from intake.routing.service import ensure_default_routing
from intake.supervisor import Child, Supervisor

READY_WITHIN = 120.0  # seconds `intake serve` waits for the first page before it warns


def main() -> None:
    """Entry point of the ``intake`` console script."""
    from intake import create_app

    FlaskGroup(create_app=lambda: create_app(), help="intake: patient inquiries and leads.")(
        prog_name="intake"
    )


def register(app: Flask) -> None:
    app.cli.add_command(serve)
    app.cli.add_command(worker)
    app.cli.add_command(beat)
    app.cli.add_command(create_admin)
    app.cli.add_command(crypto)
    app.cli.add_command(fhir)
    app.cli.add_command(audit)


def _create_first_admin() -> None:
    """On first run, an admin account with a one-time password, printed once."""
    if has_staff():
        return
    email = current_app.config["INTAKE_FIRST_ADMIN_EMAIL"]
    user, password = create_staff_user(
        email=email, name="Administrator", role="admin", now=utcnow()
    )
    db.session.commit()
    click.secho("First run: an admin account was created.", fg="green", bold=True)
    click.echo(f"  sign-in email:      {user.email}")
    click.echo(f"  one-time password:  {password}   (shown once; change it at first sign-in)")


def _celery_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "workers.app", *args]


def worker_command(concurrency: int) -> list[str]:
    return _celery_command(
        "worker",
        "--loglevel=INFO",
        f"--concurrency={concurrency}",
        "--queues=default,email,routing,periodic",
        "--without-gossip",
        "--without-mingle",
    )


def beat_command(instance_path: str) -> list[str]:
    schedule = os.path.join(instance_path, "celerybeat-schedule")
    return _celery_command("beat", "--loglevel=INFO", f"--schedule={schedule}")


def local_url(host: str, port: int) -> str:
    """The address of a server bound to ``host``: one listening everywhere is reached at
    127.0.0.1 from this machine."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:  # a name, such as localhost
        return f"http://{host}:{port}"
    if address.is_unspecified:
        return f"http://127.0.0.1:{port}"
    return f"http://[{host}]:{port}" if address.version == 6 else f"http://{host}:{port}"


def page_answers(url: str, *, timeout: float = 2.0) -> bool:
    """Whether ``url`` (our own server, over loopback) answers 200 now."""
    try:
        # bandit B310: an http URL built by `intake serve` from its own host and port.
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310  # nosec B310
            return response.status == 200
    except OSError:  # refused while the workers start, reset, timed out, an HTTP error
        return False


def _announce(base_url: str, broker: str) -> None:
    click.secho(f"intake is running: {base_url}/inquiry  (Ctrl+C to stop)", bold=True)
    click.echo(f"  staff sign in at {base_url}/staff/")
    click.echo(f"  web, a worker and the scheduler, on {broker}")


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int, help="web processes")
@click.option("--demo", is_flag=True, help="add a sample month of leads (once)")
@with_appcontext
def serve(host: str, port: int, workers: int, demo: bool) -> None:
    """Run everything on this machine: the web app, a worker and the scheduler."""
    instance_path = current_app.instance_path
    os.makedirs(instance_path, exist_ok=True)
    # Links in pages and emails follow --port unless INTAKE_BASE_URL says otherwise.
    base_url = (os.environ.get("INTAKE_BASE_URL", "").strip() or local_url(host, port)).rstrip("/")
    broker = "Redis" if current_app.config.get("REDIS_URL") else "a local broker (no Redis needed)"
    first_page = local_url(host, port) + "/inquiry"
    # Running means the first page answers (the answer also warms it). The worker and the
    # scheduler start after that, so they do not slow the web workers' start on a small machine.
    supervisor = Supervisor(
        [
            Child("web", _web_command(host, port, workers), restart=False),
            Child("worker", worker_command(2), restart=True, after_ready=True),
            Child("beat", beat_command(instance_path), restart=True, after_ready=True),
        ],
        _child_env(instance_path, base_url),
        poll=0.1,
        # A long timeout: a connection accepted while the workers load waits in the queue.
        probe=lambda: page_answers(first_page, timeout=30.0),
        on_ready=lambda: _announce(base_url, broker),
        on_timeout=lambda: click.secho(
            f"{first_page} has not answered within {READY_WITHIN:.0f} s; see the log above.",
            fg="yellow",
        ),
        ready_within=READY_WITHIN,
    )
    # The web workers load the app while the database is made ready; none of them touches it
    # before the first request, which the probe makes only after this.
    supervisor.start(time.monotonic())
    try:
        _prepare_database(demo)
    except BaseException:
        supervisor.stop()
        raise
    code = supervisor.run()
    if code > 0:
        sys.exit(code)


def _prepare_database(demo: bool) -> None:
    """Migrations, the first admin, default routing and, if asked, the sample leads."""
    from flask_migrate import upgrade

    from intake.demo.seed import add_demo_leads

    upgrade()
    _create_first_admin()
    ensure_default_routing(now=utcnow())
    db.session.commit()
    if demo:
        click.echo(f"Added {add_demo_leads(now=utcnow())} sample leads.")
        db.session.commit()
    db.engine.dispose()  # the children open their own connections


def _web_command(host: str, port: int, workers: int) -> list[str]:
    """gunicorn for the app with the Dockerfile's settings (its config preloads the app: one
    import, then forked; nothing in create_app opens a connection or starts a thread, and jobs'
    nudge thread starts per process)."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        "python:intake.api.gunicorn_conf",
        "--bind",
        f"{host}:{port}",
        "--workers",
        str(workers),
        "--threads",
        "4",
        "intake.wsgi:app",
    ]


def _child_env(instance_path: str, base_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "INTAKE_INSTANCE_PATH": instance_path,
        "INTAKE_BASE_URL": base_url,
        # The web processes add up their request metrics through files here (README: Metrics).
        "PROMETHEUS_MULTIPROC_DIR": os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        or os.path.join(instance_path, "metrics"),
    }


@click.command("worker")
@click.option("--concurrency", default=4, show_default=True, type=int)
def worker(concurrency: int) -> None:
    """Run a Celery worker (production: as many as the load needs)."""
    # bandit B606: this interpreter with a fixed argument list; no shell, no outside input.
    os.execvp(sys.executable, worker_command(concurrency))  # noqa: S606  # nosec B606


@click.command("beat")
@with_appcontext
def beat() -> None:
    """Run the scheduler (production: exactly one)."""
    # bandit B606: this interpreter with a fixed argument list; no shell, no outside input.
    os.execvp(sys.executable, beat_command(current_app.instance_path))  # noqa: S606  # nosec B606


@click.command("create-admin")
@click.argument("email")
@click.option("--name", default="Administrator")
@click.option("--role", default="admin", type=click.Choice(["admin", "coordinator", "clinician"]))
@with_appcontext
def create_admin(email: str, name: str, role: str) -> None:
    """Create a staff account and print its one-time password."""
    try:
        user, password = create_staff_user(email=email, name=name, role=role, now=utcnow())
    except StaffAccountError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.flush()
    ensure_default_routing(now=utcnow())
    db.session.commit()
    click.echo(f"Created {user.role} {user.email}; one-time password: {password}")


@click.group()
def crypto() -> None:
    """Encryption keys for health answers."""


@crypto.command("generate-key")
def generate_key_command() -> None:
    """Print a new key; put it first in INTAKE_ENCRYPTION_KEYS to rotate."""
    click.echo(generate_key())


@crypto.command("reencrypt")
@with_appcontext
def reencrypt() -> None:
    """Re-seal every stored answer with the newest key, so older keys can be retired."""
    from intake.inquiries.keys import reencrypt_batch

    total = 0
    while moved := reencrypt_batch():
        db.session.commit()
        total += moved
    click.echo(f"Re-encrypted {total} values with the newest key.")


@click.group()
def fhir() -> None:
    """FHIR exports of the questionnaire and of inquiries."""


@fhir.command("questionnaire")
@with_appcontext
def fhir_questionnaire() -> None:
    """Print the questionnaire definition as a FHIR Questionnaire, with its translations."""
    from intake.questionnaire.definition import SOURCE_LANGUAGE
    from intake.questionnaire.fhir import questionnaire_to_fhir

    definition = current_app.extensions["intake.definition"]
    translations = {
        language: translated.questionnaire
        for language, translated in current_app.extensions["intake.definitions"].items()
        if language != SOURCE_LANGUAGE
    }
    exported = questionnaire_to_fhir(definition.questionnaire, translations)
    click.echo(json.dumps(exported, indent=2))


@fhir.command("response")
@click.argument("inquiry_id", type=int)
@with_appcontext
def fhir_response(inquiry_id: int) -> None:
    """Print one inquiry as a FHIR QuestionnaireResponse (contains health data)."""
    from intake.inquiries.service import inquiry_as_fhir
    from intake.models import Inquiry

    inquiry = db.session.get(Inquiry, inquiry_id)
    if inquiry is None:
        raise click.ClickException(f"no inquiry with id {inquiry_id}")
    questionnaire = current_app.extensions["intake.definition"].questionnaire
    click.echo(json.dumps(inquiry_as_fhir(inquiry, questionnaire), indent=2))


@click.group()
def audit() -> None:
    """The audit log: check its hash chain; protect it with database grants."""


@audit.command("verify")
@with_appcontext
def audit_verify() -> None:
    """Recompute the audit log's hash chain; exit 1 if a row was changed or removed."""
    from intake.audit.service import verify_audit_chain

    check = verify_audit_chain()
    if not check.intact:
        raise click.ClickException(
            f"the audit chain breaks at row {check.first_broken_seq} ({check.rows} rows read)"
        )
    click.echo(f"The audit chain is intact ({check.rows} rows).")


@audit.command("grant-app-role")
@click.argument("role")
@with_appcontext
def audit_grant_app_role(role: str) -> None:
    """PostgreSQL: give ROLE (the app's login) what it needs, with the audit log append-only.

    Run as the schema owner after `intake db upgrade`; the app then connects as ROLE."""
    from intake.audit.service import grant_app_role

    try:
        statements = grant_app_role(role=role)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo("\n".join(f"{statement};" for statement in statements))


if __name__ == "__main__":
    main()
