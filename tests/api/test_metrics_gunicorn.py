"""/metrics under the web command Compose runs: gunicorn with two workers, sharing their request
metrics through PROMETHEUS_MULTIPROC_DIR (live processes, so real time is allowed here)."""

from __future__ import annotations

import os
import signal
import subprocess

from prometheus_client.parser import text_string_to_metric_families

from tests.live import LiveClient
from tests.test_access_log import REPO, SETTINGS, wait_until_up, web_command
from tests.workers.conftest import free_port, stop_process_group

HEALTHZ = (("endpoint", "api.healthz"), ("method", "GET"), ("status", "2xx"))


def healthz_count(text: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = tuple(sorted(sample.labels.items()))
            if sample.name == "intake_http_requests_total" and labels == HEALTHZ:
                return sample.value
    return 0.0


def test_every_scrape_adds_up_every_gunicorn_worker(database_url, tmp_path):
    folder = tmp_path / "metrics"
    folder.mkdir()
    # A previous run's file, unreadable: gunicorn's config must remove it at start.
    (folder / "counter_999999.db").write_bytes(b"left over from the last run")
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {key: value for key, value in os.environ.items() if key not in SETTINGS}
    env.update(INTAKE_ENV="development", DATABASE_URL=database_url,
               SECRET_KEY="metrics-test-" + "k" * 40, INTAKE_INSTANCE_PATH=str(tmp_path),
               INTAKE_BASE_URL=base_url, PROMETHEUS_MULTIPROC_DIR=str(folder))  # fmt: skip
    command = web_command(port)
    assert command[command.index("--workers") + 1] == "2"
    with open(tmp_path / "gunicorn.log", "wb") as log:
        process = subprocess.Popen(
            command, env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        wait_until_up(base_url, process)
        client = LiveClient(base_url)
        before = healthz_count(client.get("/metrics").get_data(as_text=True))
        for _ in range(20):
            assert client.get("/healthz").status_code == 200
        scrapes = [client.get("/metrics") for _ in range(6)]
    finally:
        stop_process_group(process, signal.SIGINT)
    assert not (folder / "counter_999999.db").exists()
    for scrape in scrapes:
        assert scrape.status_code == 200
        assert healthz_count(scrape.get_data(as_text=True)) - before == 20
