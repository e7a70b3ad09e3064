"""How staff read stored codes and times: one label map, one time format, the zone named."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from intake.display import LABELS, label, local_date, local_time, zone_or
from intake.messaging.cadences import load_cadences
from intake.models import CALL_OUTCOMES, CLINICAL_DECISIONS, EVENT_KINDS, STATUSES, STRATEGIES
from intake.models.imports import IMPORT_STATUSES, ROW_STATUSES
from intake.models.staff import ROLES
from intake.questionnaire.definition import OUTCOMES, load_definition

QUESTIONNAIRE = load_definition("ms_inquiry").questionnaire
NEW_YORK = ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("moment", "zone", "shown"),
    [
        (datetime(2026, 12, 7, 19, 5, tzinfo=UTC), "America/New_York", "Mon 7 Dec 2026, 14:05 EST"),
        (datetime(2026, 7, 7, 18, 5, tzinfo=UTC), "America/New_York", "Tue 7 Jul 2026, 14:05 EDT"),
        (datetime(2026, 12, 7, 19, 5, tzinfo=UTC), "Europe/Paris", "Mon 7 Dec 2026, 20:05 CET"),
        (datetime(2026, 12, 8, 2, 30, tzinfo=UTC), "America/Los_Angeles",
         "Mon 7 Dec 2026, 18:30 PST"),
        # A zone the time-zone database gives no abbreviation is named by its offset.
        (datetime(2026, 12, 7, 19, 5, tzinfo=UTC), "America/Sao_Paulo",
         "Mon 7 Dec 2026, 16:05 UTC-03"),
        (datetime(2026, 12, 7, 19, 5, tzinfo=UTC), "UTC", "Mon 7 Dec 2026, 19:05 UTC"),
    ],
)  # fmt: skip
def test_a_time_is_written_in_the_readers_zone_with_the_zone_named(moment, zone, shown):
    assert local_time(moment, ZoneInfo(zone)) == shown


def test_the_same_moment_reads_on_a_different_day_across_the_world():
    moment = datetime(2026, 3, 3, 3, 0, tzinfo=UTC)

    assert local_date(moment, NEW_YORK) == "Mon 2 Mar 2026"
    assert local_date(moment, ZoneInfo("Asia/Tokyo")) == "Tue 3 Mar 2026"
    assert local_date(date(2026, 3, 3), NEW_YORK) == "Tue 3 Mar 2026"


def test_no_time_reads_as_the_default():
    assert local_time(None, NEW_YORK) == ""
    assert local_time(None, NEW_YORK, default="Never") == "Never"


def test_an_unknown_or_missing_zone_falls_back_to_the_clinics():
    assert zone_or("Mars/Olympus_Mons", "America/New_York") == NEW_YORK
    assert zone_or("", "America/New_York") == NEW_YORK
    assert zone_or("Europe/Paris", "America/New_York") == ZoneInfo("Europe/Paris")


@pytest.mark.parametrize(
    ("kind", "codes"),
    [
        ("status", STATUSES),
        ("outcome", OUTCOMES),
        ("call", CALL_OUTCOMES),
        ("decision", CLINICAL_DECISIONS),
        ("event", EVENT_KINDS),
        ("strategy", STRATEGIES),
        ("role", ROLES),
        ("cadence", tuple(load_cadences())),
        ("consent", tuple(i.consent for i in QUESTIONNAIRE.items.values() if i.consent)),
        ("import_status", IMPORT_STATUSES),
        ("import_row_status", ROW_STATUSES),
    ],
)
def test_every_code_the_app_stores_has_a_label(kind, codes):
    assert [code for code in codes if code not in LABELS[kind]] == []


def test_a_label_is_the_words_staff_read_never_the_code():
    assert label("consult_scheduled", "status") == "Consult scheduled"
    assert label("needs_review", "outcome") == "Needs clinical review"
    assert label("round_robin", "strategy") == "Round robin (members take turns)"
    assert label("someone_else", "filled_by") == "Someone else, for the patient"
    assert label("import", "source", QUESTIONNAIRE) == "A lead import"
    assert label("import", "time_zone_source") == "from a lead import"


def test_codes_a_clinic_defines_in_the_questionnaire_read_as_its_options():
    assert label("patient_group", "source", QUESTIONNAIRE) == "An MS patient group"
    assert label("phone", "contact_method", QUESTIONNAIRE) == "Phone call"
    assert label("not_sure", "ms_type", QUESTIONNAIRE) == "Not sure"


def test_a_code_nobody_labelled_is_made_readable_and_nothing_reads_as_a_dash():
    assert label("call_back_tomorrow", "call") == "Call back tomorrow"
    assert label("lead.status_changed", "audit_action") == "Lead status changed"
    assert label(None, "status") == "—"
    assert label("", "source", QUESTIONNAIRE, default="not given") == "not given"
