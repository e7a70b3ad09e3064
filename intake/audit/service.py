"""Writing and checking the hash-chained audit log."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import String, bindparam, cast, insert, select, update
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from intake.extensions import db
from intake.models import AuditEvent, AuditHead
from intake.models.audit import GENESIS

OUTCOMES = ("ok", "denied", "failed")


class sha256_hex(FunctionElement):  # noqa: N801 (reads as the SQL function it is)
    """SHA-256 of a text, as lower-case hex, computed by the database."""

    type = String()
    inherit_cache = True


@compiles(sha256_hex, "postgresql")
def _sha256_postgresql(element, compiler, **kw):
    return f"encode(sha256(convert_to({compiler.process(element.clauses, **kw)}, 'UTF8')), 'hex')"


@compiles(sha256_hex, "sqlite")
def _sha256_sqlite(element, compiler, **kw):
    # Registered on every SQLite connection by intake.extensions.
    return f"intake_sha256({compiler.process(element.clauses, **kw)})"


def sha256_text(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _payload(fields: dict) -> str:
    """The row's content as canonical JSON: what the hash covers besides place and link."""
    at = fields["at"].astimezone(UTC).isoformat(timespec="microseconds")
    content = {name: fields[name] for name in _CHAINED if name != "at"}
    content["lead_ids"] = list(content["lead_ids"] or [])
    content["detail"] = dict(content["detail"] or {})
    return json.dumps({**content, "at": at}, sort_keys=True, separators=(",", ":"))


_CHAINED = (
    "at",
    "actor_id",
    "actor_role",
    "action",
    "outcome",
    "lead_ids",
    "target",
    "detail",
    "ip",
)


def ensure_audit_head() -> None:
    """The chain's one head row (the migration creates it; tests on bare tables call this)."""
    if db.session.get(AuditHead, 1) is None:
        db.session.add(AuditHead(id=1, seq=0, prev_hash=GENESIS, hash=GENESIS))
        db.session.flush()


def record_audit(
    *,
    action: str,
    now: datetime,
    actor_id: int | None = None,
    actor_role: str | None = None,
    lead_ids: Iterable[int] = (),
    target: str | None = None,
    detail: dict | None = None,
    ip: str | None = None,
    outcome: str = "ok",
) -> None:
    """Append one row in two statements: the head's advance, then the insert.

    Nothing passed here may hold patient data: leads are named by id."""
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {OUTCOMES}")
    fields = {
        "at": now.astimezone(UTC),
        "actor_id": actor_id,
        "actor_role": actor_role,
        "action": action,
        "outcome": outcome,
        "lead_ids": sorted({int(lead_id) for lead_id in lead_ids}),
        "target": target,
        "detail": detail or {},
        "ip": ip,
    }
    payload = bindparam("payload", _payload(fields), type_=String())
    next_seq = AuditHead.seq + 1
    link = AuditHead.hash.concat("|").concat(cast(next_seq, String)).concat("|").concat(payload)
    seq, prev_hash, digest = db.session.execute(
        update(AuditHead)
        .where(AuditHead.id == 1)
        .values(seq=next_seq, prev_hash=AuditHead.hash, hash=sha256_hex(link))
        .returning(AuditHead.seq, AuditHead.prev_hash, AuditHead.hash)
    ).one()
    db.session.execute(
        insert(AuditEvent).values(**fields, seq=seq, prev_hash=prev_hash, hash=digest)
    )


@dataclass(frozen=True)
class ChainCheck:
    rows: int
    first_broken_seq: int | None

    @property
    def intact(self) -> bool:
        return self.first_broken_seq is None


def _row_hash(prev_hash: str, row: AuditEvent) -> str:
    fields = {name: getattr(row, name) for name in _CHAINED}
    return sha256_text(f"{prev_hash}|{row.seq}|{_payload(fields)}")


def verify_audit_chain(*, batch: int = 5000) -> ChainCheck:
    """Recompute every hash in order; report the first row whose hash, link or place is wrong."""
    prev_hash, expected_seq, rows, last_id = GENESIS, 1, 0, 0
    while True:
        chunk = db.session.scalars(
            select(AuditEvent).where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(batch)
        ).all()
        for row in chunk:
            rows += 1
            if (
                row.seq != expected_seq
                or row.prev_hash != prev_hash
                or row.hash != _row_hash(prev_hash, row)
            ):
                return ChainCheck(rows=rows, first_broken_seq=row.seq)
            prev_hash, expected_seq, last_id = row.hash, expected_seq + 1, row.id
        if len(chunk) < batch:
            break
    head = db.session.get(AuditHead, 1)
    if head is not None and (head.seq != expected_seq - 1 or head.hash != prev_hash):
        return ChainCheck(rows=rows, first_broken_seq=expected_seq)  # rows cut off the end
    return ChainCheck(rows=rows, first_broken_seq=None)


def app_role_grants(role: str, *, quote) -> list[str]:
    """PostgreSQL grants for the role the web app and workers connect as: everything they need
    on every table, but on the audit log only reading and appending."""
    name = quote(role)
    return [
        f"GRANT USAGE ON SCHEMA public TO {name}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {name}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {name}",
        f"REVOKE UPDATE, DELETE, TRUNCATE ON audit_events FROM {name}",
    ]


def grant_app_role(*, role: str) -> list[str]:
    """Apply ``app_role_grants`` (run by the schema owner after each migration)."""
    connection = db.session.connection()
    if connection.dialect.name != "postgresql":
        raise RuntimeError("database roles exist on PostgreSQL only")
    statements = app_role_grants(role, quote=connection.dialect.identifier_preparer.quote)
    for statement in statements:
        connection.exec_driver_sql(statement)
    return statements
