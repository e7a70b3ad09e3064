"""Cadences as the clinic runs them: cadences.yaml, with an admin's changes on top (on or off,
step delays, quiet hours). Planning and the send-time checks read them from here, so a change
applies to what is planned next and a cadence switched off stops its queued emails."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import select

from intake.display import LazyText
from intake.display import lazy_gettext as _l
from intake.extensions import db
from intake.messaging.cadences import Cadence, CadenceError, load_cadences, parse_delay
from intake.models import CadenceSetting, StaffUser


class CadenceSettingError(ValueError):
    """The change cannot be saved; ``field`` names the input at fault. The message is staff
    text, translated when it is shown."""

    def __init__(self, message: str | LazyText, field: str = "steps") -> None:
        super().__init__(message)
        self.field = field


def effective_cadences() -> dict[str, Cadence]:
    """Every cadence with its admin override applied (one query)."""
    cadences = dict(load_cadences())
    for row in db.session.scalars(select(CadenceSetting)):
        cadence = cadences.get(row.name)
        if cadence is not None:
            cadences[row.name] = _apply(cadence, row)
    return cadences


def effective_cadence(name: str, setting: CadenceSetting | None) -> Cadence | None:
    """One cadence with its override row applied, the row read by the caller (None: none)."""
    cadence = load_cadences().get(name)
    return _apply(cadence, setting) if cadence is not None and setting is not None else cadence


def _apply(cadence: Cadence, row: CadenceSetting) -> Cadence:
    texts = tuple(row.steps)
    return replace(
        cadence,
        enabled=row.enabled,
        quiet_hours=row.quiet_hours,
        steps=tuple(parse_delay(text, cadence.name) for text in texts),
        step_texts=texts,
    )


def parse_steps(text: str, cadence: Cadence) -> list[str]:
    """'1h, 24h, 72h' → ['1h', '24h', '72h'], checked: each a delay, at least one, no more
    steps than the cadence has emails for, in increasing order."""
    steps = [part.strip() for part in text.replace(";", ",").split(",") if part.strip()]
    if not steps:
        raise CadenceSettingError(_l("Give at least one delay, like 1h or 3d."))
    if len(steps) > len(cadence.step_texts):
        raise CadenceSettingError(
            _l(
                "This cadence has %(count)s emails, so at most %(count)s delays.",
                count=len(cadence.step_texts),
            )
        )
    try:
        delays = [parse_delay(step, "delay") for step in steps]
    except CadenceError:
        raise CadenceSettingError(
            _l("Write each delay as a number and m, h or d, like 30m, 24h or 3d.")
        ) from None
    if delays != sorted(delays) or len(set(delays)) != len(delays):
        raise CadenceSettingError(_l("Put the delays in increasing order, each different."))
    return steps


def save_cadence_setting(
    *,
    name: str,
    enabled: bool,
    steps_text: str,
    quiet_hours: bool,
    actor: StaffUser,
    now: datetime,
) -> CadenceSetting:
    """Store the admin's settings for one cadence of cadences.yaml."""
    cadence = load_cadences().get(name)
    if cadence is None:
        raise CadenceSettingError(
            _l("There is no cadence called %(name)s.", name=name), field="name"
        )
    steps = parse_steps(steps_text, cadence)
    row = db.session.get(CadenceSetting, name) or CadenceSetting(name=name)
    row.enabled, row.steps, row.quiet_hours = enabled, steps, quiet_hours
    row.updated_at, row.updated_by_id = now, actor.id
    db.session.add(row)
    db.session.flush()
    return row


def reset_cadence_setting(*, name: str) -> bool:
    """Back to the file's settings; False when there was no override."""
    row = db.session.get(CadenceSetting, name)
    if row is None:
        return False
    db.session.delete(row)
    db.session.flush()
    return True
