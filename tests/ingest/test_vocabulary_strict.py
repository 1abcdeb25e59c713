"""rules/columns.yaml goes through the one strict YAML reader: a typo in the vocabulary is
refused with the file and the key path instead of being skipped or crashing with a KeyError."""

from __future__ import annotations

from pathlib import Path

import pytest

from disbursement.errors import RulesInvalid
from disbursement.ingest.header import load_vocabulary

ROOT = Path(__file__).resolve().parents[2]
GOOD = """\
not_money: ['ty le']
header_keywords: ['ke hoach']
columns:
  plan_dong:
    money: true
    match: [{re: 'ke hoach {year}', score: 10}]
    exclude: ['{prev}']
"""


def _vocabulary(tmp_path: Path, text: str):
    path = tmp_path / "columns.yaml"
    path.write_text(text, encoding="utf-8")
    return load_vocabulary(2022, str(path))


def test_the_shipped_vocabulary_loads():
    vocabulary = load_vocabulary(2022, str(ROOT / "rules" / "columns.yaml"))
    assert {rule.canonical for rule in vocabulary.rules} >= {"plan_dong", "disbursed_dong"}


def test_a_good_file_is_compiled_for_the_year(tmp_path):
    vocabulary = _vocabulary(tmp_path, GOOD)
    (rule,) = vocabulary.rules
    assert rule.money is True
    assert rule.matches[0][0].pattern == "ke hoach 2022" and rule.matches[0][1] == 10
    assert rule.excludes[0].pattern == "2021"


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (GOOD.replace("    money: true\n", "    mony: true\n"), r"columns\.plan_dong\.mony: unknown key"),
        (GOOD + "colours: []\n", r"colours: unknown key"),
        (GOOD.replace("score: 10", "score: high"), r"columns\.plan_dong\.match\[0\]\.score: expected int"),
        (
            GOOD.replace("re: 'ke hoach {year}'", "re: 'ke hoach ('"),
            r"columns\.plan_dong\.match\[0\]\.re: not a valid regular expression",
        ),
        (
            GOOD.replace("exclude: ['{prev}']", "exclude: ['[']"),
            r"columns\.plan_dong\.exclude\[0\]: not a valid regular expression",
        ),
        (
            GOOD.replace("    match: [{re: 'ke hoach {year}', score: 10}]\n", ""),
            r"columns\.plan_dong\.match: missing required key",
        ),
        (
            GOOD.replace("match: [{re: 'ke hoach {year}', score: 10}]", "match: []"),
            r"columns\.plan_dong\.match: needs at least one pattern",
        ),
        (GOOD.replace("not_money: ['ty le']\n", ""), r"not_money: missing required key"),
        (GOOD.replace("not_money: ['ty le']", "not_money: [12]"), r"not_money\[0\]: expected a regular"),
        (
            GOOD.replace("    money: true\n", "    money: true\n    examples: [3]\n"),
            r"columns\.plan_dong\.examples\[0\]: expected a header text",
        ),
        ("- just\n- a list\n", r"\(top\): expected a mapping"),
    ],
)
def test_a_bad_vocabulary_is_refused_with_the_key_path(tmp_path, text, where):
    with pytest.raises(RulesInvalid, match=where) as caught:
        _vocabulary(tmp_path, text)
    assert "columns.yaml" in str(caught.value)


def test_a_missing_or_broken_file_is_named(tmp_path):
    with pytest.raises(RulesInvalid, match=r"column vocabulary not found: .*nope\.yaml"):
        load_vocabulary(2022, str(tmp_path / "nope.yaml"))
    with pytest.raises(RulesInvalid, match=r"not valid YAML"):
        _vocabulary(tmp_path, "columns: [unclosed\n")
