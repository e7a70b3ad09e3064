"""Files as spreadsheets and other systems write them: UTF-8 with and without a byte-order
mark, UTF-16, Windows-1252 and Latin-1; commas, semicolons, tabs; rows sealed at rest."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from intake.extensions import db
from intake.imports.reading import NoHeaderRow, UnreadableFile, looks_like_data, start_job
from intake.models import ImportJob, ImportRow
from tests.imports.conftest import HEADERS, NOW, check, csv_bytes, rows_of, upload

ROWS = [["José", "Núñez", "jose@example.org", "+34612345678", "ES"],
        ["Zoë", "Brontë", "zoe@example.org", "", "GB"]]  # fmt: skip


def stored(app, job_id):
    with app.app_context():
        job = db.session.get(ImportJob, job_id)
        rows = db.session.scalars(
            select(ImportRow).where(ImportRow.job_id == job_id).order_by(ImportRow.row_number)
        ).all()
        from intake.imports.checking import open_cells

        return (
            job.encoding,
            job.delimiter,
            job.headers,
            [(row.row_number, open_cells(row), row.cells_sealed) for row in rows],
        )


@pytest.mark.parametrize(
    ("encoding", "prefix", "read_as"),
    [("utf-8", b"", "utf-8"), ("utf-8", b"\xef\xbb\xbf", "utf-8-sig"), ("utf-16", b"", "utf-16"),
     ("cp1252", b"", "cp1252")],
)  # fmt: skip
@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_encodings_and_delimiters_read_the_same_rows(app, encoding, prefix, read_as, delimiter):
    data = prefix + csv_bytes(ROWS, delimiter=delimiter, encoding=encoding)
    job_id = upload(app, data)
    found_encoding, found_delimiter, headers, rows = stored(app, job_id)
    assert (found_encoding, found_delimiter, headers) == (read_as, delimiter, HEADERS)
    assert [(number, cells) for number, cells, _ in rows] == [(2, ROWS[0]), (3, ROWS[1])]
    assert all("José" not in sealed and "jose@" not in sealed for _, _, sealed in rows)


def test_latin_1_is_the_last_resort_and_reads_any_byte(app):
    data = (
        csv_bytes([["Ana", "Ruiz", "ana@example.org", "", "ES"]])
        + b"\x81\x8d,x,y@example.org,,ES\r\n"
    )
    _, _, _, rows = stored(app, upload(app, data))
    assert rows[1][1][0] == "\x81\x8d"


def test_blank_lines_are_skipped_and_later_rows_keep_their_spreadsheet_numbers(app):
    data = csv_bytes([ROWS[0], ["", "", "", "", ""], ROWS[1]])
    _, _, _, rows = stored(app, upload(app, data, batch=1))
    assert [number for number, _, _ in rows] == [2, 4]


@pytest.mark.parametrize(
    ("data", "why"),
    [(b"", "the file is empty"), (b"First Name,Email\r\n", "the file has a header but no rows")],
)
def test_a_file_without_rows_is_refused_and_stores_nothing(app, data, why):
    with app.app_context():
        with pytest.raises(UnreadableFile, match=why):
            start_job(stream=io.BytesIO(data), filename="x.csv", created_by_id=None, batch=10,
                      now=NOW)  # fmt: skip
        db.session.rollback()
        assert db.session.scalar(select(ImportJob.id)) is None


NO_HEADER = "the first row must name the columns, like First name, Email, Phone"


@pytest.mark.parametrize(
    "first_row",
    [
        ["Ada", "Byron", "ada@example.org", "", "US"],  # an email address
        ["Ada", "Byron", "", "(202) 555-0143", "US"],  # a phone number
        ["Ada", "Byron", "", "+44 20 7946 0958", ""],
        ["Ada", "2026-03-01", "1980", "Spain"],  # no known column name, mostly values
    ],
)
def test_a_file_whose_first_row_is_a_person_is_refused_without_quoting_it(app, first_row):
    data = csv_bytes([ROWS[0]], headers=first_row)
    with app.app_context():
        with pytest.raises(NoHeaderRow) as refused:
            start_job(stream=io.BytesIO(data), filename="x.csv", created_by_id=None, batch=10,
                      now=NOW)  # fmt: skip
        assert str(refused.value) == NO_HEADER
        db.session.rollback()
        assert db.session.scalar(select(ImportJob.id)) is None


@pytest.mark.parametrize(
    "headers",
    [
        HEADERS,
        ["Given", "Family", "Contact", "Where"],  # names we do not know: the admin maps them
        ["Nombre", "Apellidos", "Correo electrónico", "Teléfono", "País"],
        ["id", "First name", "2026 campaign", "Email"],
    ],
)
def test_a_first_row_of_column_names_is_taken_as_the_header(headers):
    assert not looks_like_data(headers)


def test_a_ragged_row_is_reported_and_the_others_are_kept(app):
    rows = [
        ROWS[0],  # 2: fine
        ["Ana", "Ruiz", "ana@example.org", "ES"],  # 3: a cell short
        ["Eva", "Gil", "eva@example.org", "", "ES", "Eva-surplus"],  # 4: a cell too many
        ["Zoë", "Brontë", "zoe@example.org", "", "GB", "", ""],  # 5: empty cells after: fine
    ]
    job = check(app, upload(app, csv_bytes(rows)))
    assert (job.rows_total, job.rows_valid, job.rows_error) == (4, 2, 2)
    found = {number: (row.status, row.errors) for number, row in rows_of(app, job.id).items()}
    ragged = "cells but the first row names 5 columns: a separator is missing or extra"
    assert found[2] == ("pending", None) and found[5] == ("pending", None)
    assert [status for status, _ in (found[3], found[4])] == ["error", "error"]
    assert found[3][1][0].startswith("This row has 4 cells") and ragged in found[3][1][0]
    assert found[4][1][0].startswith("This row has 6 cells") and ragged in found[4][1][0]
    assert all("Ana" not in message and "Eva-surplus" not in message for _, e in found.values()
               for message in e or [])  # fmt: skip
