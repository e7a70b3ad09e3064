"""Benchmark P13's row check: a side's figure counts only if every round made as many rows as its
server accepted posts (the peer answers 200 for its thank-you page and for its form shown again
with errors alike), and intake's multiple over the peer is a plain quotient of the two ratios."""

from __future__ import annotations

import pytest

from bench.p13_peer import RowCheck, multiple


def test_rounds_that_made_a_row_per_accepted_post_hold():
    check = RowCheck()
    check.record(before=0, after=120, accepted=120)
    check.record(before=120, after=250, accepted=130)
    assert check.holds
    assert (check.created, check.accepted, check.rounds_off) == (250, 250, 0)


def test_accepted_posts_that_made_no_row_fail_the_check():
    check = RowCheck()
    check.record(before=0, after=100, accepted=100)
    check.record(before=100, after=190, accepted=100)  # ten 200s that showed the form again
    assert not check.holds
    assert (check.created, check.accepted, check.rounds_off) == (190, 200, 1)


def test_rows_made_twice_fail_the_check_even_when_the_totals_even_out():
    check = RowCheck()
    check.record(before=0, after=105, accepted=100)
    check.record(before=105, after=200, accepted=100)
    assert check.created == check.accepted
    assert not check.holds


def test_a_side_that_accepted_nothing_proves_nothing():
    check = RowCheck()
    check.record(before=7, after=7, accepted=0)
    assert not check.holds


def test_the_multiple_is_intakes_ratio_over_the_peers():
    assert multiple(0.30, 0.10) == pytest.approx(3.0)
    assert round(multiple(0.11, 0.083), 2) == 1.33
    assert multiple(0.11, 0.0) == 0.0
