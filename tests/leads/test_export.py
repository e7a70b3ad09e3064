"""The export's cell neutralising (no cell a spreadsheet would run as a formula), and the
streamed export pinned byte for byte to the row-by-row export it replaced (issue 16, bench P7):
same header, same cells, same guard, on both databases."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select
from sqlalchemy.orm import aliased

from intake.extensions import db
from intake.leads.export import BOM, csv_chunks, export_header, export_statement, neutralise
from intake.leads.filters import order_by
from intake.models import Lead, StaffUser, Team
from tests.factories import LEAD, NOW, make_staff


def test_neutralise_covers_every_formula_start_and_leaves_other_text_alone():
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert neutralise(f"{start}1") == f"'{start}1"
    assert neutralise("Ada") == "Ada"
    assert neutralise(None) == ""
    assert neutralise(True) == "yes"


def reference_export(conditions, *, sort: str) -> str:
    """The export as written before issue 16: ORM-typed rows, every cell through ``neutralise``
    (None empty, yes/no, ``isoformat(timespec="seconds")``, the apostrophe)."""
    owner, team = aliased(StaffUser), aliased(Team)
    columns = (
        Lead.id, Lead.created_at, Lead.status, owner.name, team.name, Lead.source,
        Lead.utm_campaign, Lead.country, Lead.region, Lead.ms_type, Lead.eligibility_outcome,
        Lead.incomplete, Lead.sla_due_at, Lead.first_contacted_at, Lead.first_name,
        Lead.last_name, Lead.email, Lead.phone, Lead.language,
    )  # fmt: skip
    statement = (
        select(*columns)
        .outerjoin(owner, owner.id == Lead.owner_id)
        .outerjoin(team, team.id == Lead.team_id)
        .where(*conditions)
        .order_by(*order_by(sort))
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(export_header())
    for row in db.session.execute(statement):
        writer.writerow([neutralise(value) for value in row])
    return BOM + buffer.getvalue()


# Formulas as typed, after spaces, invisible characters or in full-width form; quotes, commas and
# line breaks; accents, ñ, ¿¡, emoji and other scripts; empty text and None. Rows imported or
# written before the forms' checks can hold any of these, codes included.
NASTY = [
    "=HYPERLINK(\"http://evil\")", "+x", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd", "  =1+1",
    "\u3000＠SUM(A1)", "\u200b\t=cmd", " －2", "＝cmd|' /C calc'!A0", "'already", "Ángela",
    "Íñigo Muñoz Peña", "¿Qué tal?", "¡Hola!", "Ñandú", "línea\nnueva", 'dice "hola", ¿sí?',
    "🙂 smile", "東京", "", " ", "a\r\nb", "ß", "Ölçek", "-", "=", None,
]  # fmt: skip


def fit(value: str | None, length: int) -> str | None:
    return value if value is None else value[:length]


def nasty_leads() -> list[dict]:
    rows = []
    for number, value in enumerate(NASTY):
        other = NASTY[(number * 7 + 3) % len(NASTY)]
        moment = NOW + timedelta(days=number, seconds=number, microseconds=999_999 * (number % 2))
        rows.append(dict(
            LEAD, first_name=value if value is not None else "", last_name=other or "Byron",
            email=value, phone=fit(other, 20), region=value, utm_campaign=other, source=value,
            ms_type=fit(other, 16), eligibility_outcome=fit(value, 32), incomplete=number % 2 == 0,
            status=fit(value, 32) or "new", country=fit(other, 2) or "US",
            language=fit(value, 8) or "es",
            created_at=moment, sla_due_at=None if number % 3 else moment + timedelta(hours=7),
            first_contacted_at=moment - timedelta(minutes=1) if number % 4 == 1 else None,
        ))  # fmt: skip
    return rows


def test_the_streamed_export_is_byte_for_byte_the_row_by_row_export_it_replaced(ctx):
    owners = [
        make_staff("coordinator", name="=cmd|' /C calc'!A0", team="+Equipo Ñ").id,
        make_staff("coordinator", name="José Muñoz", team="Este").id,
        make_staff("admin", name='Ana "la jefa", ¿sí?').id,
    ]
    teams = [None, *db.session.scalars(select(Team.id).order_by(Team.id))]
    rows = nasty_leads()
    for number, row in enumerate(rows):
        row["owner_id"] = owners[number % 3] if number % 5 else None
        row["team_id"] = teams[number % len(teams)]
    db.session.execute(insert(Lead), rows)
    db.session.execute(insert(Lead), [dict(LEAD, created_at=datetime(1999, 12, 31, 23, 59, 59,
        999_999, tzinfo=UTC), sla_due_at=datetime(2030, 1, 1, tzinfo=UTC))])  # fmt: skip
    db.session.commit()

    for sort in ("sla", "newest", "oldest"):
        for conditions in ([], [Lead.language == "es"], [Lead.status == "no such status"]):
            expected = reference_export(conditions, sort=sort)
            for batch in (1, 4, 500):
                streamed = "".join(csv_chunks(export_statement(conditions, sort=sort), batch=batch))
                assert streamed == expected, (sort, conditions, batch)
    assert expected == BOM + ",".join(export_header()) + "\r\n"  # no rows: the header only
    everything = "".join(csv_chunks(export_statement([], sort="sla")))
    assert "'=cmd|' /C calc'!A0" in everything and "'+Equipo Ñ" in everything
    assert "ada.byron@example.org,'+12025550143,en\r\n" in everything  # E.164 starts with +
    assert "1999-12-31T23:59:59+00:00" in everything and "2030-01-01T00:00:00+00:00" in everything
