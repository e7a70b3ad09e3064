"""The privacy notice and terms files: versioned, placeholders filled, Markdown rendered safely,
and a malformed file stops the app at startup with the file and the fault named."""

from __future__ import annotations

import hashlib
from datetime import date

import pytest

import intake.notices
from intake import create_app
from intake.notices import NoticeError, load_notices, parse_notice

VALUES = {
    "clinic_name": "Northbridge MS Clinic",
    "privacy_contact": "privacy@northbridge.example",
    "retention_days": 730,
    "resume_days": 14,
}
GOOD = '---\nversion: "2027.1"\ntitle: Privacy notice\nupdated: 2027-01-15\n---\n'


def test_the_shipped_notices_load_with_every_placeholder_filled():
    notices = load_notices(VALUES)

    assert set(notices) == {"privacy", "terms"}
    privacy = notices["privacy"]
    assert (privacy.title, privacy.consent_version) == ("Privacy notice", "privacy-2026.12.1")
    assert "{" not in privacy.text and "{" not in notices["terms"].text
    assert "Northbridge MS Clinic" in privacy.html and "privacy@northbridge.example" in privacy.html
    assert "730" in privacy.text and "<h2>Who we are</h2>" in privacy.html
    assert privacy.text_hash == hashlib.sha256(privacy.text.encode()).hexdigest()


def test_the_hash_covers_the_text_as_shown_so_a_new_clinic_name_is_a_new_text():
    first = parse_notice("privacy", GOOD + "Hello from {clinic_name}.", VALUES)
    second = parse_notice(
        "privacy", GOOD + "Hello from {clinic_name}.", {**VALUES, "clinic_name": "Another clinic"}
    )

    assert first.version == second.version == "2027.1"
    assert first.updated == date(2027, 1, 15)
    assert first.text_hash != second.text_hash


def test_html_and_script_links_in_the_file_never_reach_the_page():
    notice = parse_notice(
        "privacy",
        GOOD
        + "# Heading\n\n<script>alert(1)</script>\n\n[click](javascript:alert(1)) "
        + "[mail us](mailto:privacy@clinic.example) <img src=x onerror=alert(1)>",
        VALUES,
    )

    assert "<script" not in notice.html and "<img" not in notice.html  # shown as text only
    assert "&lt;script&gt;" in notice.html and 'href="javascript' not in notice.html
    assert '<a href="mailto:privacy@clinic.example"' in notice.html
    assert "<h2>Heading</h2>" in notice.html  # the page's own h1 is the title


@pytest.mark.parametrize(
    ("source", "fault"),
    [
        ("Just text, no front matter.", "must start with a '---' front matter block"),
        ("---\n[unclosed\n---\nText", "front matter is not valid YAML"),
        ("---\ntitle: T\nupdated: 2027-01-15\n---\nText", "version must be quoted text"),
        ("---\nversion: 2027.1\ntitle: T\nupdated: 2027-01-15\n---\nText", "version must be"),
        ('---\nversion: "1"\nupdated: 2027-01-15\n---\nText', "needs a title"),
        ('---\nversion: "1"\ntitle: T\nupdated: soon\n---\nText', "updated must be a date"),
        ('---\nversion: "1"\ntitle: T\nupdated: 2027-01-15\n---\n\n', "the text is empty"),
        (GOOD + "Write to {clinic_email}.", "unknown placeholder {clinic_email}"),
    ],
)
def test_a_malformed_notice_is_refused_with_the_file_and_the_fault_named(source, fault):
    with pytest.raises(NoticeError, match="notice 'privacy.md'") as error:
        parse_notice("privacy", source, VALUES)
    assert fault in str(error.value)


def test_a_malformed_notice_file_stops_the_app_at_startup(tmp_path, monkeypatch):
    (tmp_path / "privacy.md").write_text("No front matter here.")
    (tmp_path / "terms.md").write_text(GOOD + "Terms.")
    monkeypatch.setattr(intake.notices, "DIRECTORY", tmp_path)

    with pytest.raises(NoticeError, match="notice 'privacy.md': must start with"):
        create_app({"INTAKE_ENV": "testing", "SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_a_missing_notice_file_stops_the_app_at_startup(tmp_path, monkeypatch):
    (tmp_path / "privacy.md").write_text(GOOD + "Privacy.")
    monkeypatch.setattr(intake.notices, "DIRECTORY", tmp_path)

    with pytest.raises(NoticeError, match="notice 'terms.md': cannot read it"):
        create_app({"INTAKE_ENV": "testing", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
