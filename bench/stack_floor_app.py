"""The stack floor: the floor's two requests (``bench.floor_app``) made through the stack
PRODUCT.md requires of intake, and nothing else, so P8 can say how much of a web worker's memory
any app built on that stack owes to the stack itself.

``GET /`` renders a two-field Flask-WTF form through a Jinja template; ``POST /submit``
validates it with WTForms' validators, adds one Flask-SQLAlchemy model and commits (one
``INSERT``), pushes the row's id to Redis and redirects, as the floor does. Like intake under
the production gunicorn config, the master builds before forking what a worker would otherwise
build on its first requests (``warm_up``: mappers configured, the form validated and the page
rendered in a request context, the insert compiled), without holding a database connection.
"""

from __future__ import annotations

import os

import redis
from flask import Flask, redirect
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import FlaskForm
from sqlalchemy import insert
from sqlalchemy.orm import DeclarativeBase, Mapped, configure_mappers, mapped_column
from wtforms import EmailField, StringField
from wtforms.validators import DataRequired, Email, Length

QUEUE = "bench:stack-floor:queue"
PAGE = """<!doctype html><title>stack floor</title><form method=post action=/submit>
{% for field in form %}<p>{{ field.label }} {{ field() }}
{% for error in field.errors %}<span>{{ error }}</span>{% endfor %}</p>{% endfor %}</form>"""


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


class Submission(db.Model):
    __tablename__ = "bench_stack_floor_submissions"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str]
    first_name: Mapped[str]


class SubmissionForm(FlaskForm):
    class Meta:
        csrf = False  # the floor checks none either

    email = EmailField("Email", validators=[DataRequired(), Email(check_deliverability=False)])
    first_name = StringField("First name", validators=[DataRequired(), Length(max=100)])


def create_stack_floor_app(database_url: str | None = None, redis_url: str | None = None) -> Flask:
    """The stack floor as a WSGI app; URLs default to ``FLOOR_DATABASE_URL`` and
    ``FLOOR_REDIS_URL``. Its table is made if missing (dropped with the scratch database)."""
    database_url = database_url or os.environ["FLOOR_DATABASE_URL"]
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = database_url.replace(
        "postgresql://", "postgresql+psycopg://"
    )
    db.init_app(app)
    queue = redis.Redis.from_url(redis_url or os.environ["FLOOR_REDIS_URL"])
    page = app.jinja_env.from_string(PAGE)
    with app.app_context():
        db.create_all()
        db.engine.dispose()  # no connection outlives the master's start-up

    @app.get("/")
    def form_page():
        return page.render(form=SubmissionForm())

    @app.post("/submit")
    def submit():
        form = SubmissionForm()
        if not form.validate():
            return page.render(form=form), 422
        row = Submission(email=form.email.data, first_name=form.first_name.data)
        db.session.add(row)
        db.session.commit()
        queue.lpush(QUEUE, row.id)
        return redirect("/next", 302)

    def warm_up() -> None:
        configure_mappers()
        answers = {"email": "warm.up@example.org", "first_name": "Warm"}
        with app.test_request_context("/submit", method="POST", data=answers):
            form = SubmissionForm()
            form.validate()
            page.render(form=form)
            insert(Submission).values(answers).compile(db.engine)

    app.extensions["intake.warm_up"] = warm_up  # what intake.api.gunicorn_conf runs in the master
    return app
