"""Settings: safe embedded defaults, and a production start that refuses missing secrets."""

from __future__ import annotations

import stat

import pytest

from intake import create_app
from intake.config import ConfigError, instance_secret, load_config
from intake.crypto import generate_key
from tests.conftest import DEPLOYMENT_SETTINGS


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in DEPLOYMENT_SETTINGS:
        monkeypatch.delenv(name, raising=False)


def test_development_creates_its_secrets_once_with_owner_only_permissions(tmp_path):
    first = load_config(tmp_path)
    second = load_config(tmp_path)

    assert first["SECRET_KEY"] == second["SECRET_KEY"] and len(first["SECRET_KEY"]) >= 48
    assert first["INTAKE_ENCRYPTION_KEYS"] == second["INTAKE_ENCRYPTION_KEYS"]
    for name in ("secret_key", "encryption_key"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
    assert first["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'intake.sqlite3'}"


def test_two_processes_making_the_first_secret_at_once_both_keep_one(tmp_path):
    # `intake serve` and its web server load the app at the same time on a new instance folder:
    # the other process writes its secret while this one is making its own.
    def made_while_the_other_one_wins() -> str:
        (tmp_path / "secret_key").write_text("the-other-process-secret\n")
        return "this-process-secret"

    value = instance_secret(tmp_path, "secret_key", made_while_the_other_one_wins)

    assert value == "the-other-process-secret"
    assert instance_secret(tmp_path, "secret_key", lambda: "never-made") == value
    assert [path.name for path in tmp_path.iterdir()] == ["secret_key"]  # no temporary left


def test_production_names_every_missing_setting(tmp_path, monkeypatch):
    monkeypatch.setenv("INTAKE_ENV", "production")
    with pytest.raises(ConfigError) as error:
        load_config(tmp_path)
    for name in ("SECRET_KEY", "DATABASE_URL", "INTAKE_ENCRYPTION_KEYS", "INTAKE_BASE_URL"):
        assert name in str(error.value)
    assert not (tmp_path / "secret_key").exists()


def test_production_starts_with_its_settings_and_uses_psycopg(tmp_path, monkeypatch):
    monkeypatch.setenv("INTAKE_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("DATABASE_URL", "postgres://intake@db/intake")
    monkeypatch.setenv("INTAKE_ENCRYPTION_KEYS", f"{generate_key()}, {generate_key()}")
    monkeypatch.setenv("INTAKE_BASE_URL", "https://inquiry.clinic.example")

    config = load_config(tmp_path)

    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://intake@db/intake"
    assert len(config["INTAKE_ENCRYPTION_KEYS"]) == 2
    assert config["SESSION_COOKIE_SECURE"] is True


def test_production_rejects_a_short_secret_key(tmp_path, monkeypatch):
    monkeypatch.setenv("INTAKE_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "short")
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/intake")
    monkeypatch.setenv("INTAKE_ENCRYPTION_KEYS", generate_key())
    monkeypatch.setenv("INTAKE_BASE_URL", "https://inquiry.clinic.example")
    with pytest.raises(ConfigError, match="at least 32"):
        load_config(tmp_path)


def test_an_unknown_environment_or_a_bad_key_is_a_clear_startup_error(tmp_path, monkeypatch):
    monkeypatch.setenv("INTAKE_ENV", "staging")
    with pytest.raises(ConfigError, match="INTAKE_ENV must be one of"):
        load_config(tmp_path)
    monkeypatch.setenv("INTAKE_ENV", "development")
    monkeypatch.setenv("INTAKE_ENCRYPTION_KEYS", "not-a-key")
    monkeypatch.setenv("INTAKE_INSTANCE_PATH", str(tmp_path))
    with pytest.raises(ValueError, match="32 bytes|base64"):
        create_app()


def test_a_bad_number_setting_names_the_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("INTAKE_DEDUPE_DAYS", "ninety")
    with pytest.raises(ConfigError, match="INTAKE_DEDUPE_DAYS"):
        load_config(tmp_path)


def test_behind_a_trusted_proxy_the_client_address_comes_from_x_forwarded_for():
    from flask import request

    direct = create_app({"INTAKE_ENV": "testing"})
    proxied = create_app({"INTAKE_ENV": "testing", "INTAKE_PROXY_HOPS": 1})
    headers = {"X-Forwarded-For": "203.0.113.7"}
    with direct.test_request_context(headers=headers, environ_base={"REMOTE_ADDR": "10.0.0.2"}):
        assert request.remote_addr == "10.0.0.2"  # an untrusted header is ignored
    seen = []
    proxied.add_url_rule("/probe", "probe", lambda: seen.append(request.remote_addr) or "ok")
    proxied.test_client().get("/probe", headers=headers, environ_base={"REMOTE_ADDR": "10.0.0.2"})
    assert seen == ["203.0.113.7"]
