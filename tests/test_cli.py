"""The ``intake`` command: admin accounts, key generation, and ``intake serve`` from nothing."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from intake.cli import page_answers
from intake.crypto import Keyring
from intake.extensions import db
from intake.models import StaffUser
from tests.live import free_port, serving, wait_for


def test_create_admin_prints_a_one_time_password_and_refuses_duplicates(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-admin", "Boss@Clinic.example", "--name", "Dr Boss"])

    assert result.exit_code == 0, result.output
    assert re.search(r"one-time password: \S{12,}", result.output)
    with app.app_context():
        user = db.session.scalars(db.select(StaffUser)).one()
    assert (user.email, user.role, user.must_change_password) == (
        "boss@clinic.example",
        "admin",
        True,
    )
    assert user.password_hash.startswith("$argon2")

    again = runner.invoke(args=["create-admin", "boss@clinic.example"])
    assert again.exit_code != 0 and "already exists" in again.output


def test_generate_key_prints_a_usable_key(app):
    result = app.test_cli_runner().invoke(args=["crypto", "generate-key"])
    Keyring.from_config([result.output.strip()])


def _lines_until(stream, marker: str, seen: list[str]) -> str:
    """Read ``stream`` into ``seen`` until a line containing ``marker``; that line."""
    for line in stream:
        seen.append(line)
        if marker in line:
            return line
    raise AssertionError(f"no {marker!r} line in {seen!r}")


def test_serve_creates_the_database_prints_the_first_admin_and_says_running_once_it_serves(
    tmp_path,
):
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "INTAKE_ENCRYPTION_KEYS", "INTAKE_ENV")
    }
    env["INTAKE_INSTANCE_PATH"] = str(tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "intake.cli", "serve", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    seen: list[str] = []
    try:
        reader = ThreadPoolExecutor(1).submit(
            _lines_until, process.stdout, "intake is running", seen
        )
        running = reader.result(timeout=120)
        # Said only once the page answers: it answers at the first try, with no wait.
        page = wait_for(f"http://127.0.0.1:{port}/inquiry", deadline=0)
        assert f"http://127.0.0.1:{port}/inquiry" in running
        assert b"Step 1 of 4" in page
        assert b'"status":"ok"' in wait_for(
            f"http://127.0.0.1:{port}/readyz", time.monotonic() + 60
        ).replace(b" ", b"")
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert "one-time password:" in "".join(seen) + output
    assert (tmp_path / "intake.sqlite3").exists()
    assert oct((tmp_path / "secret_key").stat().st_mode)[-3:] == "600"


def test_page_answers_is_false_while_nothing_listens_and_true_for_a_200(app):
    assert not page_answers(f"http://127.0.0.1:{free_port()}/inquiry", timeout=1)
    with serving(app) as base_url:
        assert page_answers(f"{base_url}/inquiry", timeout=10)
        assert not page_answers(f"{base_url}/no-such-page", timeout=10)


def test_a_stored_inquiry_exports_as_a_valid_fhir_questionnaire_response(app):
    from fhir.resources.R4B.questionnaire import Questionnaire
    from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

    from intake.models import Inquiry
    from tests.conftest import complete_inquiry

    complete_inquiry(app.test_client())
    with app.app_context():
        inquiry_id = db.session.scalar(db.select(Inquiry.id))
    runner = app.test_cli_runner()

    questionnaire = Questionnaire.model_validate_json(
        runner.invoke(args=["fhir", "questionnaire"]).output
    )
    result = runner.invoke(args=["fhir", "response", str(inquiry_id)])
    response = QuestionnaireResponse.model_validate_json(result.output)

    assert response.status == "completed"
    assert response.questionnaire == f"{questionnaire.url}|{questionnaire.version}"
    # The questionnaire carries its Spanish words (every text is checked in tests/questionnaire).
    [spanish] = questionnaire.title__ext.extension
    assert [(part.url, part.valueCode or part.valueString) for part in spanish.extension] == [
        ("lang", "es"),
        ("content", "Solicitud sobre la terapia con células madre para la esclerosis múltiple"),
    ]
    answered = {item.linkId: item.answer for group in response.item for item in group.item}
    assert answered["last_name"][0].valueString == "Byron"
    assert [a.valueCoding.code for a in answered["symptoms"]] == ["fatigue", "vision"]
    assert answered["diagnosis_year"][0].valueInteger == 2015
    assert runner.invoke(args=["fhir", "response", "999999"]).exit_code != 0
