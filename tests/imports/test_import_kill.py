"""A real importing process killed with SIGKILL mid-way and resumed: nothing lost, nothing
twice (the 50,000-row version is the drill in test_import_drill.py)."""

from __future__ import annotations

from tests.imports.kill import assert_accounted, kill_and_resume

ROWS = 3000


def test_an_import_killed_mid_way_resumes_without_a_duplicate_lead(
    app_factory, database_url, tmp_path
):
    outcome = kill_and_resume(app_factory, database_url, tmp_path, count=ROWS, batch=100)
    assert_accounted(outcome, ROWS)
