"""Follow-up cadences as data, and the pure timing rules they follow."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

DEFINITION = Path(__file__).with_name("cadences.yaml")
STOPS = frozenset({"inquiry_completed", "contacted", "closed"})
# inquiry.saved_for_later is no outbox event: the patient's own request schedules it at once.
TRIGGERS = frozenset({"inquiry.started", "inquiry.completed", "inquiry.saved_for_later"})
_DELAY = re.compile(r"^(\d+)([mhd]?)$")
_UNITS = {"": "minutes", "m": "minutes", "h": "hours", "d": "days"}


class CadenceError(ValueError):
    """The cadence file is malformed; the message names the cadence."""


@dataclass(frozen=True)
class Cadence:
    name: str
    trigger: str
    audience: str
    consent: str | None
    template: str
    quiet_hours: bool
    per: str
    steps: tuple[timedelta, ...]
    stops: frozenset[str]
    # The file's step delays as written ("1h"), for the admin page and its overrides.
    step_texts: tuple[str, ...] = ()
    enabled: bool = True


def parse_delay(text: str, where: str) -> timedelta:
    match = _DELAY.match(str(text).strip())
    if not match:
        raise CadenceError(f"{where}: '{text}' is not a delay like 30m, 24h or 3d")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def parse_cadences(raw: dict) -> dict[str, Cadence]:
    """Validate the cadence document."""
    if not isinstance(raw, dict) or not isinstance(raw.get("cadences"), dict):
        raise CadenceError("the cadence file needs a 'cadences' mapping")
    cadences = {}
    for name, spec in raw["cadences"].items():
        where = f"cadence '{name}'"
        if not isinstance(spec, dict):
            raise CadenceError(f"{where}: must be a mapping of settings")
        if spec.get("trigger") not in TRIGGERS:
            raise CadenceError(f"{where}: trigger must be one of {sorted(TRIGGERS)}")
        if spec.get("audience") not in ("patient", "staff"):
            raise CadenceError(f"{where}: audience must be patient or staff")
        unknown = set(spec.get("stops") or ()) - STOPS
        if unknown:
            raise CadenceError(f"{where}: unknown stop condition {sorted(unknown)[0]!r}")
        if spec.get("per") not in ("inquiry", "lead", "request"):
            raise CadenceError(f"{where}: per must be inquiry, lead or request")
        if not spec.get("steps") or not spec.get("template"):
            raise CadenceError(f"{where}: needs steps and a template")
        cadences[name] = Cadence(
            name=name,
            trigger=spec["trigger"],
            audience=spec["audience"],
            consent=spec.get("consent"),
            template=spec["template"],
            quiet_hours=bool(spec.get("quiet_hours", True)),
            per=spec["per"],
            steps=tuple(parse_delay(step, where) for step in spec["steps"]),
            stops=frozenset(spec.get("stops") or ()),
            step_texts=tuple(str(step).strip() for step in spec["steps"]),
        )
    return cadences


@cache
def load_cadences(path: Path = DEFINITION) -> dict[str, Cadence]:
    try:
        return parse_cadences(yaml.safe_load(path.read_text()))
    except (OSError, yaml.YAMLError) as exc:
        raise CadenceError(f"cannot read {path.name}: {exc}") from exc


def outside_quiet_hours(
    at: datetime, tz_name: str, *, day_starts: time, day_ends: time
) -> datetime:
    """``at`` if it falls in the recipient's local daytime, else the next daytime start."""
    zone = ZoneInfo(tz_name)
    local = at.astimezone(zone)
    if day_starts <= local.time() < day_ends:
        return at
    start_day = local.date() if local.time() < day_starts else local.date() + timedelta(days=1)
    return datetime.combine(start_day, day_starts, tzinfo=zone).astimezone(at.tzinfo)
