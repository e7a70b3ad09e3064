"""intake: patient inquiries and lead management for MSC therapy clinics."""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import partial
from pathlib import Path

from flask import Flask

PACKAGE_DIR = Path(__file__).resolve().parent


def _resource_dir(name: str) -> str:
    """A top-level folder of the checkout, or its copy inside an installed wheel."""
    packaged = PACKAGE_DIR / name
    return str(packaged if packaged.is_dir() else PACKAGE_DIR.parent / name)


def chosen_instance_path() -> str | None:
    """The instance folder set by ``INTAKE_INSTANCE_PATH``; None for Flask's default."""
    return os.environ.get("INTAKE_INSTANCE_PATH") or None


def create_app(config: Mapping | None = None) -> Flask:
    """Build the app: settings from the environment, then ``config`` on top (tests pass one)."""
    from intake import api, cli, formats, hooks, http, log, public, staff
    from intake.config import load_config
    from intake.extensions import (
        babel,
        celery_init_app,
        csrf,
        db,
        encryption,
        limiter,
        login_manager,
        migrate,
    )
    from intake.i18n import LANGUAGES, choose_locale, install_jinja
    from intake.ids import IdConverter
    from intake.models.types import render_migration_item
    from intake.notices import load_notices, placeholder_values
    from intake.questionnaire.definition import load_definition

    app = Flask(
        __name__,
        template_folder=_resource_dir("templates"),
        instance_path=chosen_instance_path(),
    )
    overrides = dict(config or {})
    app.config.update(load_config(Path(app.instance_path), overrides.pop("INTAKE_ENV", None)))
    app.config.update(overrides)

    log.configure(app)
    if app.config.get("INTAKE_PROXY_HOPS"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["INTAKE_PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    db.init_app(app)
    migrate.init_app(
        app,
        db,
        directory=_resource_dir("migrations"),
        render_as_batch=True,
        compare_type=True,
        render_item=render_migration_item,
    )
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    encryption.init_app(app)
    babel.init_app(
        app,
        locale_selector=choose_locale,
        default_translation_directories=str(PACKAGE_DIR / "translations"),
    )
    install_jinja(app)
    celery_init_app(app)
    app.extensions["intake.definition"] = load_definition(app.config["INTAKE_QUESTIONNAIRE"])
    app.extensions["intake.definitions"] = {  # the patient's, in each language we speak
        language: load_definition(app.config["INTAKE_QUESTIONNAIRE"], language=language)
        for language in LANGUAGES
    }
    app.extensions["intake.notices"] = load_notices(placeholder_values(app.config))
    app.extensions["intake.notices.translated"] = {
        language: load_notices(placeholder_values(app.config, language), language=language)
        for language in LANGUAGES
    }

    http.register(app)
    # Before the blueprints: their rules look the converter up when they are added.
    app.url_map.converters["int"] = IdConverter
    formats.register(app)
    public.register(app)
    api.register(app)
    hooks.register(app)
    staff.register(app)
    cli.register(app)
    # gunicorn's master calls it before forking the workers (intake.api.gunicorn_conf).
    app.extensions["intake.warm_up"] = partial(warm_up, app)
    return app


def warm_up(app: Flask) -> None:
    """Build now what a process would otherwise build on its first requests: gunicorn's master
    calls this before it forks the workers, so they share it (intake.api.gunicorn_conf). The
    ORM's mappers configured, every template compiled, each language's country names and each
    step's form class, each language's message catalogue, the clinic's time zone, and the modules
    that a request or publishing a task imports on first use (the IDNA codec email checks use,
    Celery's task sender, the broker's kombu transport). Nothing here opens a connection or starts
    a thread."""
    from zoneinfo import ZoneInfo

    from flask_babel import force_locale, get_translations
    from kombu import Connection
    from kombu.transport import resolve_transport
    from sqlalchemy.orm import configure_mappers

    from intake.i18n import LANGUAGES
    from intake.public.countries import countries
    from intake.public.forms import step_form_class

    configure_mappers()
    for name in app.jinja_env.list_templates():
        app.jinja_env.get_template(name)
    for language in LANGUAGES:
        countries(language)
    with app.test_request_context():  # a context of its own: no request is made or served
        for language in LANGUAGES:
            with force_locale(language):
                get_translations()
    ZoneInfo(app.config["INTAKE_CLINIC_TIME_ZONE"])
    for definition in app.extensions["intake.definitions"].values():
        for step in definition.questionnaire.steps:
            step_form_class(definition.questionnaire, step.id)
    tasks = app.extensions["celery"]
    tasks.amqp  # noqa: B018 (the property imports and builds the task sender)
    resolve_transport(Connection(tasks.conf.broker_url).transport_cls)
    import encodings.idna  # noqa: F401

    import celery.app.events  # noqa: F401
    import celery.backends.base  # noqa: F401
    import celery.events.dispatcher  # noqa: F401
