"""Shared pieces for the security probes: the URL-map world of the access matrix (reused, not
copied), and a fingerprint of every table to prove a request changed nothing.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import inspect, select, text

from intake.extensions import db
from tests.staff.access_matrix import (
    ANYONE,
    MATRIX,
    world,  # noqa: F401 (the fixture, for the probes)
)

# Rows every request may add or touch: the audit log (each staff page view and refusal is
# audited on purpose) and the server-side staff session's last-seen time.
ALWAYS_MAY_CHANGE = {"audit_events": None, "audit_head": None, "staff_sessions": {"last_seen_at"}}


def table_fingerprints(app, ignore: dict | None = None) -> dict[str, str]:
    """A SHA-256 of every row of every table, per table (columns named in ``ignore`` left out;
    a table mapped to ``None`` left out entirely)."""
    ignore = ALWAYS_MAY_CHANGE if ignore is None else ignore
    prints = {}
    with app.app_context():
        inspector = inspect(db.engine)
        for table in db.metadata.sorted_tables:
            if table.name in ignore and ignore[table.name] is None:
                continue
            skipped = ignore.get(table.name) or set()
            columns = [c for c in table.columns if c.name not in skipped]
            order = [c for c in table.primary_key.columns] or columns
            digest = hashlib.sha256()
            for row in db.session.execute(select(*columns).order_by(*order)):
                digest.update(repr(tuple(row)).encode())
            prints[table.name] = digest.hexdigest()
        # A table outside the models (created by a migration only) must not escape the check.
        extra = set(inspector.get_table_names()) - set(db.metadata.tables) - {"alembic_version"}
        for name in sorted(extra):
            count = db.session.scalar(text(f'SELECT count(*) FROM "{name}"'))  # noqa: S608
            prints[name] = f"count={count}"
        db.session.remove()
    return prints


def changed_tables(before: dict[str, str], after: dict[str, str]) -> list[str]:
    names = before.keys() | after.keys()
    return sorted(name for name in names if before.get(name) != after.get(name))


def role_for(endpoint: str) -> str | None:
    """Someone allowed to use the route (None: anonymous), so only the probe is tested."""
    rule = MATRIX[endpoint]
    if rule.roles is ANYONE:
        return None
    return next(role for role in ("admin", "coordinator", "clinician") if role in rule.roles)
