"""The issue-code registry: every code emitted is registered, every registered code is
documented in docs/issues.md (its anchor, on the row of its code and severity), and an
unregistered code cannot be built (sqlite-utils' tests/test_docs.py, for issue codes)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from disbursement.config.issues import (
    UnknownIssueCode,
    issue,
    load_registry,
    lookup,
    registry,
)
from disbursement.errors import RulesInvalid
from disbursement.ingest.schema import plan_schema
from disbursement.ingest.validate import check_code

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "issues.md").read_text(encoding="utf-8")
CODE_LIKE = re.compile(r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$")
# Code-shaped strings that are not issue codes: rule ids of rules/candidates.yaml.
NOT_ISSUE_CODES = {"VOCABULARY-SCORE"}


def _literal_codes() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in (ROOT / "disbursement").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and CODE_LIKE.match(node.value)
                and node.value not in NOT_ISSUE_CODES
            ):
                found.setdefault(node.value, set()).add(str(path.relative_to(ROOT)))
    return found


def _schema_codes() -> set[str]:
    schema = plan_schema()
    names = {check.name for check in schema.checks}
    for column in schema.columns.values():
        names |= {check.name for check in column.checks if check.name}
    names.discard("greater_than_or_equal_to")  # the row number's pa.Check.ge(1): never reported
    return {check_code(name) for name in names}


def test_every_code_in_the_code_base_is_registered():
    unregistered = {code: where for code, where in _literal_codes().items() if code not in registry()}
    assert unregistered == {}
    assert _schema_codes() - set(registry()) == set()


def test_every_registered_code_is_emitted_somewhere():
    emitted = set(_literal_codes()) | _schema_codes()
    assert set(registry()) - emitted == set()


@pytest.mark.parametrize("code", sorted(registry()))
def test_every_registered_code_is_documented_with_its_anchor_and_severity(code):
    entry = registry()[code]
    rows = [row for row in DOC.splitlines() if f'id="{entry.doc}"' in row]
    assert rows, f'docs/issues.md has no <a id="{entry.doc}"></a> for {code}'
    mine = [row for row in rows if f"`{code}`" in row]
    assert mine, f"the row of anchor {entry.doc} in docs/issues.md does not name {code}"
    cells = [cell.strip() for cell in mine[0].split("|")]
    assert cells[2] == " / ".join(entry.severities)
    assert entry.vi and entry.en and entry.vi != entry.en


def test_the_anchors_of_the_documentation_are_unique():
    anchors = re.findall(r'<a id="([^"]+)"></a>', DOC)
    assert len(anchors) == len(set(anchors))
    assert set(anchors) == {entry.doc for entry in registry().values()}


def test_an_unregistered_code_or_severity_cannot_be_built():
    with pytest.raises(UnknownIssueCode, match="NO-SUCH-CODE"):
        issue("NO-SUCH-CODE", "f.xlsx", None, None, None, "x")
    with pytest.raises(ValueError, match="registered as info"):
        issue("SHEET-HIDDEN", "f.xlsx", None, None, None, "x", severity="error")
    built = issue("OVERRIDE-INVALID", "o.xlsx", "S", 3, "B", "bad", severity="warning")
    assert built.to_dict() == {
        "code": "OVERRIDE-INVALID",
        "severity": "warning",
        "file": "o.xlsx",
        "sheet": "S",
        "row": 3,
        "column": "B",
        "message": "bad",
    }
    assert issue("UNIT-ASSUMED", "f.xlsx", "S", None, None, "m").severity == "warning"
    assert lookup("ASOF-MISMATCH").text("en").startswith("The sheet's data date")
    assert lookup("ASOF-MISMATCH").text("vi").startswith("Ngày số liệu")


def test_a_bad_registry_is_refused_with_the_key_path(tmp_path):
    bad = tmp_path / "issues.yaml"
    bad.write_text(
        "SHEET-HIDDEN:\n  severity: info\n  vi: a\n  en: b\n  doc: c\n  colour: red\n", encoding="utf-8"
    )
    with pytest.raises(RulesInvalid, match=r"SHEET-HIDDEN\.colour: unknown key"):
        load_registry(bad)
    bad.write_text("X-Y:\n  severity: fatal\n  vi: a\n  en: b\n  doc: c\n", encoding="utf-8")
    with pytest.raises(RulesInvalid, match=r"X-Y\.severity: 'fatal'"):
        load_registry(bad)
    bad.write_text("X-Y:\n  severity: info\n  vi: a\n  en: b\n", encoding="utf-8")
    with pytest.raises(RulesInvalid, match=r"X-Y\.doc: missing required key"):
        load_registry(bad)


def test_a_blocking_schema_check_is_registered_as_an_error():
    """validate.py excludes the lines of BLOCKING_CHECKS; the registry must call them errors."""
    from disbursement.ingest.schema import BLOCKING_CHECKS

    for code in _schema_codes():
        check = code.removeprefix("CHECK-").lower().replace("-", "_")
        assert (lookup(code).severity == "error") == (check in BLOCKING_CHECKS), code
