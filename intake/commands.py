"""The ``intake`` command's admin tools: staff accounts, encryption keys, FHIR exports and the
audit log. Registered on the app's CLI by ``intake.cli.register``."""

from __future__ import annotations

import json

import click
from flask import current_app
from flask.cli import with_appcontext

from intake.accounts.staff import StaffAccountError, create_staff_user
from intake.crypto import generate_key
from intake.extensions import db
from intake.models.types import utcnow
from intake.routing.service import ensure_default_routing


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
