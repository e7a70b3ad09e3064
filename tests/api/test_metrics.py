"""/metrics: who may read it, what it counts, and what it never shows."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import event, update

from intake.api import state
from intake.extensions import db
from intake.jobs import record_event
from intake.models import Consult, ConsultType, Send, StaffTask, WebhookDelivery, WebhookEndpoint
from tests.factories import NOW, audit_count, make_lead, make_send, make_staff

TOKEN = "metrics-token-0123456789abcdef"
STATE_STATEMENTS = 6  # outbox, sends, SLA, tasks, consults, webhooks: one aggregate each


@pytest.fixture(autouse=True)
def _clock(monkeypatch):
    monkeypatch.setattr(state, "utcnow", lambda: NOW)


def samples(response) -> dict[tuple[str, tuple], float]:
    """Every sample of the exposition, by name and sorted labels (and it parses)."""
    assert response.status_code == 200
    found = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found, name: str, **labels) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def from_address(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


# Who may read it -------------------------------------------------------------------------------


def test_without_a_token_only_loopback_clients_read_the_metrics(app):
    for address in ("127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"):
        response = from_address(app, address).get("/metrics")
        assert response.status_code == 200, address
        assert response.headers["Cache-Control"] == "no-store"
        assert response.content_type.startswith("text/plain; version=")
    for address in ("203.0.113.9", "10.0.0.5", "2001:db8::1", "::ffff:10.0.0.5"):
        response = from_address(app, address).get("/metrics")
        assert (response.status_code, response.data) == (404, b""), address
        assert response.headers["Cache-Control"] == "no-store"


def test_a_request_through_a_local_proxy_is_not_taken_for_a_loopback_client(app):
    client = from_address(app, "127.0.0.1")
    assert client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 404
    assert client.get("/metrics", headers={"Forwarded": "for=203.0.113.9"}).status_code == 404


def test_behind_the_configured_proxy_the_forwarded_client_address_decides(app_factory):
    app = app_factory(INTAKE_PROXY_HOPS=1)
    client = from_address(app, "127.0.0.1")
    assert client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 404
    assert client.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"}).status_code == 200


def test_with_a_token_only_its_bearer_reads_the_metrics_from_anywhere(app_factory):
    app = app_factory(INTAKE_METRICS_TOKEN=TOKEN)
    outside, local = from_address(app, "203.0.113.9"), from_address(app, "127.0.0.1")
    refused = ("", "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer ", TOKEN)
    for header in refused:
        headers = {"Authorization": header} if header else {}
        for client in (outside, local):
            response = client.get("/metrics", headers=headers)
            assert (response.status_code, response.data) == (401, b""), headers
            assert response.headers["WWW-Authenticate"] == "Bearer"
    response = outside.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert "intake_outbox_pending" in response.get_data(as_text=True)


def test_a_scrape_is_not_audited(app):
    before = audit_count(app)
    for _ in range(3):
        assert app.test_client().get("/metrics").status_code == 200
    assert audit_count(app) == before


# Request metrics -------------------------------------------------------------------------------


def test_requests_are_counted_by_endpoint_method_and_status_class_never_by_path(app):
    client = app.test_client()
    key = dict(endpoint="api.healthz", method="GET", status="2xx")
    unknown = dict(endpoint="unmatched", method="GET", status="4xx")
    before = samples(client.get("/metrics"))
    for _ in range(3):
        client.get("/healthz")
    client.get("/no-such-page/secret-token-4711")
    client.post("/healthz")  # no rule for POST: 405, unmatched
    resumed = client.get("/inquiry/resume/secret-token-4712")  # a matched rule with a token
    after = samples(client.get("/metrics"))
    counted = "intake_http_requests_total"
    assert value(after, counted, **key) - value(before, counted, **key) == 3
    assert value(after, counted, **unknown) - value(before, counted, **unknown) == 1
    resume = dict(endpoint="public.resume", method="GET", status=f"{resumed.status_code // 100}xx")
    assert value(after, counted, **resume) - value(before, counted, **resume) == 1
    posted = dict(endpoint="unmatched", method="POST", status="4xx")
    assert value(after, counted, **posted) - value(before, counted, **posted) == 1
    timed = "intake_http_request_duration_seconds_count"
    assert value(after, timed, **key) - value(before, timed, **key) == 3
    text = client.get("/metrics").get_data(as_text=True)
    assert "secret-token" not in text and "/inquiry" not in text and "/healthz" not in text


def test_a_server_error_is_counted_as_5xx_under_its_endpoint(app):
    def boom():
        raise RuntimeError("a bug")

    app.add_url_rule("/boom-for-metrics", "boom_for_metrics", boom)
    client = app.test_client()
    app.testing = False  # answer 500 like production instead of raising into the test
    key = dict(endpoint="boom_for_metrics", method="GET", status="5xx")
    before = samples(client.get("/metrics"))  # the counts are the process's, across tests
    assert client.get("/boom-for-metrics").status_code == 500
    after = samples(client.get("/metrics"))
    for name in ("intake_http_requests_total", "intake_http_request_duration_seconds_count"):
        assert value(after, name, **key) - value(before, name, **key) == 1


# State metrics ---------------------------------------------------------------------------------


def build_state(app) -> None:
    """Sends in several states and channels, an overdue and a due-soon lead, an outbox backlog,
    tasks and consults, around NOW. The leads carry a canary name and address."""
    with app.app_context():
        canary = dict(first_name="Zebulon", last_name="Canarywing", email="canarywing@example.org")
        overdue = make_lead(sla_due_at=NOW - timedelta(hours=2), **canary)
        make_lead(sla_due_at=NOW + timedelta(minutes=10), **canary)  # due soon
        make_lead(sla_due_at=NOW - timedelta(hours=3), first_contacted_at=NOW, **canary)  # met
        make_lead(sla_due_at=NOW - timedelta(hours=3), status="not_interested", **canary)
        for number, status in enumerate(("sent", "sent", "dead", "scheduled", "cancelled")):
            send = make_send(f"template-{number}", lead=overdue)
            send.status = status
        text = make_send("text-dead", lead=overdue)
        text.channel, text.status = "text", "dead"
        record_event(topic="lead.created", now=NOW - timedelta(minutes=7), lead_id=overdue.id)
        record_event(topic="lead.created", now=NOW - timedelta(minutes=1), lead_id=overdue.id)
        staff = make_staff()
        for due in (NOW - timedelta(hours=1), NOW + timedelta(hours=1)):
            db.session.add(StaffTask(lead_id=overdue.id, assignee_id=staff.id, kind="call_back",
                                     due_at=due, status="open"))  # fmt: skip
        db.session.add(StaffTask(lead_id=overdue.id, assignee_id=staff.id, kind="follow_up",
                                 due_at=NOW - timedelta(days=1), status="done"))  # fmt: skip
        kind = db.session.merge(ConsultType(name="Video consult", kind="video"))
        db.session.flush()
        starts = [
            (NOW + timedelta(hours=2), "booked"),
            (NOW + timedelta(days=3), "booked"),
            (NOW - timedelta(hours=2), "booked"),  # past
            (NOW + timedelta(hours=5), "cancelled"),
        ]
        for number, (start, status) in enumerate(starts):
            lead = make_lead(**canary)
            db.session.add(Consult(uid=f"metrics-{number}@intake.test", lead_id=lead.id,
                                   consult_type_id=kind.id, staff_user_id=staff.id,
                                   starts_at=start, ends_at=start + timedelta(minutes=30),
                                   status=status))  # fmt: skip
        hook = WebhookEndpoint(url="https://hooks.example.net/in", events=["lead.created"],
                               secret_sealed="sealed")  # fmt: skip
        db.session.add(hook)
        db.session.flush()
        deliveries = [("pending", 0), ("pending", 2), ("pending", 1), ("sending", 1),
                      ("dead", 8), ("succeeded", 1), ("succeeded", 3)]  # fmt: skip
        for number, (status, attempts) in enumerate(deliveries):
            db.session.add(WebhookDelivery(endpoint_id=hook.id, message_id=f"msg_{number}",
                                           event_type="lead.created", payload={}, status=status,
                                           attempts=attempts))  # fmt: skip
        db.session.commit()


def test_the_state_metrics_reflect_the_database(app):
    build_state(app)
    found = samples(app.test_client().get("/metrics"))
    assert value(found, "intake_outbox_pending") == 2
    assert value(found, "intake_outbox_oldest_age_seconds") == 420
    assert value(found, "intake_sends", status="sent", channel="email") == 2
    assert value(found, "intake_sends", status="dead", channel="email") == 1
    assert value(found, "intake_sends", status="dead", channel="text") == 1
    assert value(found, "intake_sends", status="scheduled", channel="email") == 1
    assert value(found, "intake_sends", status="cancelled", channel="email") == 1
    assert ("intake_sends", (("channel", "text"), ("status", "sending"))) in found  # zeros shown
    assert value(found, "intake_sends_dead", channel="email") == 1
    assert value(found, "intake_sends_dead", channel="text") == 1
    assert value(found, "intake_leads_sla_breached") == 1
    assert value(found, "intake_leads_sla_due_soon") == 1
    assert value(found, "intake_tasks_open") == 2
    assert value(found, "intake_tasks_overdue") == 1
    assert value(found, "intake_consults_upcoming") == 2
    assert value(found, "intake_consults_next_24h") == 1
    assert value(found, "intake_webhook_deliveries", status="pending") == 3
    assert value(found, "intake_webhook_deliveries", status="sending") == 1
    assert value(found, "intake_webhook_deliveries", status="dead") == 1
    assert value(found, "intake_webhook_deliveries_failing") == 2
    assert value(found, "intake_state_errors") == 0
    assert not any(name == "intake_broker_up" for name, _ in found)  # no Redis configured


def test_no_patient_data_is_in_the_metrics(app):
    build_state(app)
    text = app.test_client().get("/metrics").get_data(as_text=True).lower()
    for canary in ("zebulon", "canarywing", "example.org", "lead.created", "template-"):
        assert canary not in text


def test_a_scrape_runs_one_statement_per_state_gauge(app):
    build_state(app)
    client = app.test_client()
    client.get("/metrics")
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get("/metrics").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == STATE_STATEMENTS, statements


def test_a_stored_value_outside_the_fixed_sets_is_counted_as_other(app):
    with app.app_context():
        send = make_send("odd", lead=make_lead())
        db.session.execute(update(Send).where(Send.id == send.id).values(status="made-up"))
        db.session.commit()
    found = samples(app.test_client().get("/metrics"))
    assert value(found, "intake_sends", status="other", channel="email") == 1
    assert "made-up" not in app.test_client().get("/metrics").get_data(as_text=True)


def test_a_failing_state_gauge_is_left_out_and_counted(app, monkeypatch):
    def broken(now):
        db.session.execute(db.text("SELECT * FROM no_such_table"))
        yield from ()

    monkeypatch.setitem(state.STATE_GAUGES, "broken", broken)
    found = samples(app.test_client().get("/metrics"))
    assert value(found, "intake_state_errors") == 1
    assert ("intake_tasks_open", ()) in found


# The broker --------------------------------------------------------------------------------------


def test_the_broker_queues_are_measured_when_redis_is_configured(app_factory, redis_url):
    app = app_factory(REDIS_URL=redis_url)
    queues = state.broker_queues(app.config["CELERY"])
    assert queues == ("default", "email", "periodic", "routing")
    client = redis.Redis.from_url(redis_url)
    client.delete(*queues)
    try:
        client.rpush("email", "one", "two")
        client.rpush("routing", "three")
        found = samples(app.test_client().get("/metrics"))
    finally:
        client.delete(*queues)
    assert value(found, "intake_broker_up") == 1
    assert value(found, "intake_broker_queue_length", queue="email") == 2
    assert value(found, "intake_broker_queue_length", queue="routing") == 1
    assert ("intake_broker_queue_length", (("queue", "default"),)) in found


def test_a_broker_that_is_down_reads_as_broker_up_0_not_an_error(app_factory):
    app = app_factory(REDIS_URL="redis://127.0.0.1:1/0")
    found = samples(app.test_client().get("/metrics"))
    assert value(found, "intake_broker_up") == 0
    assert not any(name == "intake_broker_queue_length" for name, _ in found)
    assert ("intake_outbox_pending", ()) in found


# Several processes (gunicorn's workers) ----------------------------------------------------------

WORKER = """
import sys
from intake import create_app
app = create_app({"INTAKE_ENV": "testing", "SQLALCHEMY_DATABASE_URI": sys.argv[1]})
client = app.test_client()
for _ in range(int(sys.argv[2])):
    assert client.get("/healthz").status_code == 200
if sys.argv[3] == "scrape":
    sys.stdout.write(client.get("/metrics").get_data(as_text=True))
"""


def test_in_multiprocess_mode_a_scrape_adds_up_every_process(database_url, tmp_path):
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}

    def run(count: int, then: str) -> str:
        command = [sys.executable, "-c", WORKER, database_url, str(count), then]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout

    run(2, "exit")
    run(3, "exit")
    text = run(4, "scrape")
    assert len(list(tmp_path.glob("*.db"))) >= 3  # one set of files per process
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    key = dict(endpoint="api.healthz", method="GET", status="2xx")
    assert value(found, "intake_http_requests_total", **key) == 9
    assert value(found, "intake_http_request_duration_seconds_count", **key) == 9
    assert ("intake_outbox_pending", ()) in found


def test_gunicorn_empties_the_metrics_folder_at_start_and_drops_an_exited_worker(
    tmp_path, monkeypatch
):
    from intake.api import gunicorn_conf

    folder = tmp_path / "metrics"
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(folder))
    gunicorn_conf.on_starting(None)
    assert folder.is_dir()
    (folder / "counter_41.db").write_bytes(b"old")
    (folder / "gauge_livesum_42.db").write_bytes(b"old")
    (folder / "notes.txt").write_text("kept")
    gunicorn_conf.child_exit(None, type("Worker", (), {"pid": 42})())
    assert sorted(p.name for p in folder.iterdir()) == ["counter_41.db", "notes.txt"]
    gunicorn_conf.on_starting(None)
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]
