"""gunicorn's production settings (intake.api.gunicorn_conf): the app is loaded once in the master
and the workers are forked from it, so nothing the master opens may outlive the fork."""

from __future__ import annotations

import gc
import threading
from types import SimpleNamespace

import psutil
from flask import Flask

from intake.api import gunicorn_conf
from intake.config import celery_settings
from intake.extensions import db
from tests.conftest import make_app


class Server:
    """What gunicorn's hooks read of its arbiter: the settings and the loaded app."""

    def __init__(self, app, *, preload: bool = True) -> None:
        self.cfg = SimpleNamespace(preload_app=preload)
        self.app = SimpleNamespace(wsgi=lambda: app)


def test_the_app_is_preloaded_and_its_objects_frozen_before_each_fork():
    assert gunicorn_conf.preload_app is True
    gc.unfreeze()
    try:
        gunicorn_conf.pre_fork(None, None)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_building_and_warming_the_app_opens_no_connection_and_starts_no_thread(
    database_url, redis_url
):
    """What preloading relies on: the master builds and warms the app (database, Redis for
    Celery and the rate limiter) without connecting anywhere or starting a thread, so each
    worker opens its own after the fork."""
    process = psutil.Process()
    sockets_before = set(process.net_connections())
    threads_before = set(threading.enumerate())
    app = make_app(
        database_url,
        REDIS_URL=redis_url,
        RATELIMIT_STORAGE_URI=redis_url,
        CELERY=celery_settings(redis_url, None),
    )
    gunicorn_conf.when_ready(Server(app))
    assert set(process.net_connections()) - sockets_before == set()
    assert set(threading.enumerate()) - threads_before == set()
    with app.app_context():
        assert db.engine.pool.checkedin() == 0
        assert db.engine.pool.checkedout() == 0
    cached = {name for _, name in app.jinja_env.cache}  # (loader ref, name) pairs
    assert cached == set(app.jinja_env.list_templates())


def test_only_an_intake_app_that_gunicorn_preloaded_is_warmed(database_url):
    app = make_app(database_url)
    gunicorn_conf.when_ready(Server(app, preload=False))
    gunicorn_conf.when_ready(Server(Flask("bench.floor_app")))
    assert len(app.jinja_env.cache) == 0
