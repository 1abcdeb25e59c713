"""Rules as data: strict keys, known criterion types, year shift, documented ids."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import yaml

from disbursement.config.rules import DEFAULT_RULES, load_rules
from disbursement.errors import RulesInvalid

ROOT = Path(__file__).resolve().parents[2]


def write_rules(tmp_path: Path, mutate) -> Path:
    data = yaml.safe_load(DEFAULT_RULES.read_text(encoding="utf-8"))
    mutate(data)
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_seed_rounds_as_data():
    rules = load_rules()
    r1, r2, r3 = (rules.round(n) for n in (1, 2, 3))
    assert (r1.id, r1.criterion.threshold_pct, r1.scope_statuses) == ("SL79-R1", 50, ("continuing",))
    assert (r2.id, r2.criterion.threshold_pct, r2.scope_statuses) == ("SL79-R2", 60, ())
    assert r3.criterion.type == "expected_below_plan"
    assert r1.as_of.in_year(2022) == dt.date(2022, 6, 30)
    assert r2.as_of.in_year(2023) == dt.date(2023, 9, 30)
    assert r3.deadline.in_year(2024) == dt.date(2024, 11, 15)
    assert "79/QĐ-UBND" in rules.legal_basis


def test_misspelt_key_names_file_and_key_path(tmp_path):
    def typo(data):
        data["rounds"][0]["criterion"]["threshhold_pct"] = data["rounds"][0]["criterion"].pop("threshold_pct")

    path = write_rules(tmp_path, typo)
    with pytest.raises(RulesInvalid) as caught:
        load_rules(path)
    assert str(caught.value) == (
        f"{path}: rounds[0].criterion.threshhold_pct: unknown key "
        "(expected one of: type, threshold_pct, denominator)"
    )


def test_unknown_criterion_type_is_an_error(tmp_path):
    path = write_rules(tmp_path, lambda d: d["rounds"][1]["criterion"].update(type="rate_under"))
    with pytest.raises(RulesInvalid, match=r"rounds\[1\]\.criterion\.type: unknown criterion type"):
        load_rules(path)


def test_unknown_status_and_bad_date_are_errors(tmp_path):
    path = write_rules(tmp_path, lambda d: d["rounds"][0]["scope"].update(status=["chuyen tiep"]))
    with pytest.raises(RulesInvalid, match=r"rounds\[0\]\.scope\.status: unknown status"):
        load_rules(path)
    path = write_rules(tmp_path, lambda d: d["rounds"][0]["as_of"].update(day=31))
    with pytest.raises(RulesInvalid, match=r"rounds\[0\]\.as_of: 31/6 is not a date"):
        load_rules(path)


def test_threshold_must_be_integer_percent(tmp_path):
    path = write_rules(tmp_path, lambda d: d["rounds"][0]["criterion"].update(threshold_pct=49.5))
    with pytest.raises(RulesInvalid, match=r"threshold_pct: expected int, got 49\.5"):
        load_rules(path)


def test_every_rule_id_is_documented():
    docs = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^## (\S+)$", docs, flags=re.M))
    for path in (ROOT / "rules").glob("*.yaml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for rnd in (data or {}).get("rounds", []) if path.name != "template.yaml" else []:
            assert rnd["id"] in documented, f"{rnd['id']} from {path.name} not in docs/rules.md"


def test_missing_or_broken_rules_file_is_named(tmp_path):
    with pytest.raises(RulesInvalid, match=r"^rules file not found: .*nope\.yaml$"):
        load_rules(tmp_path / "nope.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("rounds: [unclosed\n", encoding="utf-8")
    with pytest.raises(RulesInvalid, match=r"broken\.yaml: not valid YAML"):
        load_rules(broken)
