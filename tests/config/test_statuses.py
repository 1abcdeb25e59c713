"""The status vocabulary lives in rules/statuses.yaml and is read strictly."""

from __future__ import annotations

import pytest

from disbursement.errors import RulesInvalid
from disbursement.ingest.rows import status_from_text, status_in_note
from disbursement.ingest.statuses import load_statuses


def test_shipped_vocabulary_reads_the_officers_words():
    assert status_from_text("1. Dự án chuyển tiếp") == "continuing"
    assert status_from_text("KCM") == "new"
    assert status_in_note("Dự án khởi công mới năm 2022") == "new"
    assert status_in_note("dự kiến hoàn thành năm 2023") is None


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("phrases: []\nvalues: {ct: ongoing}\nnote: []\n", "status 'ongoing' is not one of"),
        (
            "phrases: [{status: new, pattern: '(unclosed'}]\nvalues: {}\nnote: []\n",
            "phrases[0]: not a valid pattern",
        ),
        ("phrases: []\nvalues: {}\n", "expected exactly the keys"),
    ],
)
def test_a_bad_entry_names_the_file_and_the_entry(tmp_path, text, why):
    path = tmp_path / "statuses.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RulesInvalid, match=r"statuses\.yaml") as caught:
        load_statuses(str(path))
    assert why in str(caught.value)
