"""P12's floor: the least a Flask page served from this checkout can be, nothing else imported.

uv run gunicorn -w 2 "bench.minimal_page:create_app()"
"""

from __future__ import annotations

from flask import Flask


def create_app() -> Flask:
    """One page at ``/inquiry``, the path P12 polls on both sides."""
    app = Flask(__name__)
    app.add_url_rule("/inquiry", "page", lambda: "<!doctype html><title>floor</title>")
    return app
