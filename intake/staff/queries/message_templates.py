"""The message template pages: every template with its version in force, and one template's
history with who saved each version when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from intake.conversations.templates import KEYS
from intake.extensions import db
from intake.i18n import LANGUAGES
from intake.models import MessageTemplate, StaffUser
from intake.models.conversation import CHANNELS


@dataclass(frozen=True)
class VersionRow:
    key: str
    channel: str
    language: str
    version: int  # 0: the built-in words
    saved_at: datetime | None
    saved_by: str | None  # a staff member's name


def _versions(*conditions):
    return (
        select(MessageTemplate, StaffUser.name)
        .outerjoin(StaffUser, StaffUser.id == MessageTemplate.created_by_id)
        .where(*conditions)
    )


def overview() -> list[VersionRow]:
    """Every key × channel × language with the version in force (one query)."""
    newest = (
        select(
            MessageTemplate.key,
            MessageTemplate.channel,
            MessageTemplate.language,
            func.max(MessageTemplate.version).label("version"),
        )
        .group_by(MessageTemplate.key, MessageTemplate.channel, MessageTemplate.language)
        .subquery()
    )
    query = _versions().join(
        newest,
        (newest.c.key == MessageTemplate.key)
        & (newest.c.channel == MessageTemplate.channel)
        & (newest.c.language == MessageTemplate.language)
        & (newest.c.version == MessageTemplate.version),
    )
    saved = {
        (row.key, row.channel, row.language): VersionRow(
            row.key, row.channel, row.language, row.version, row.created_at, name
        )
        for row, name in db.session.execute(query)
    }
    return [
        saved.get((key, channel, language), VersionRow(key, channel, language, 0, None, None))
        for key in KEYS
        for channel in CHANNELS
        for language in LANGUAGES
    ]


def history(key: str, channel: str, language: str) -> list[VersionRow]:
    """Every saved version of one template, newest first, then the built-in words."""
    query = _versions(
        MessageTemplate.key == key,
        MessageTemplate.channel == channel,
        MessageTemplate.language == language,
    ).order_by(MessageTemplate.version.desc())
    rows = [
        VersionRow(key, channel, language, row.version, row.created_at, name)
        for row, name in db.session.execute(query)
    ]
    return [*rows, VersionRow(key, channel, language, 0, None, None)]
