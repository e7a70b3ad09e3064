"""The export's cell neutralising: no cell a spreadsheet would run as a formula."""

from __future__ import annotations

from intake.leads.export import neutralise


def test_neutralise_covers_every_formula_start_and_leaves_other_text_alone():
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert neutralise(f"{start}1") == f"'{start}1"
    assert neutralise("Ada") == "Ada"
    assert neutralise(None) == ""
    assert neutralise(True) == "yes"
