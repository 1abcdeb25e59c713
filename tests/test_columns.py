"""One column-letter helper for every Excel reference the engine reads or writes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from disbursement.errors import cell_column, cell_ref, column_index, column_letter

PACKAGE = Path(__file__).resolve().parent.parent / "disbursement"


@pytest.mark.parametrize(
    ("index", "letters"),
    [
        (0, "A"),
        (25, "Z"),
        (26, "AA"),
        (51, "AZ"),
        (52, "BA"),
        (701, "ZZ"),
        (702, "AAA"),
        (16_383, "XFD"),
    ],
)
def test_letters_both_ways_past_z(index, letters):
    assert column_letter(index) == letters
    assert column_index(letters) == index
    assert column_index(letters.lower()) == index


def test_cell_references_past_z():
    assert cell_ref(11, 27) == "AB12"
    assert cell_column("AB12") == "AB"
    assert column_index(cell_column(cell_ref(0, 702))) == 702


@given(st.integers(min_value=0, max_value=16_383))
def test_letter_and_index_round_trip(index):
    assert column_index(column_letter(index)) == index


def test_no_other_module_makes_its_own_column_letters():
    """The appendix once wrote chr(65 + col), wrong past column Z."""
    own = re.compile(r"chr\(\s*(65|ord\(['\"]A['\"]\))|rstrip\(['\"]0123456789['\"]\)|get_column_letter")
    offenders = [
        str(p.relative_to(PACKAGE))
        for p in PACKAGE.rglob("*.py")
        if p.name != "errors.py" and own.search(p.read_text(encoding="utf-8"))
    ]
    assert offenders == []
