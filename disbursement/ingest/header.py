"""Understand one sheet: where the header is, what each column means, unit and as-of date.

Per-cell Python is used only here, on the first rows of a sheet (header detection must look
at words); the data rows are handled column-wise in `normalize.py`. Column meaning comes
from `rules/columns.yaml`, matched on folded header paths (see that file).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from functools import lru_cache

from disbursement.config.rules import RULES_DIR, _Reader
from disbursement.errors import RulesInvalid
from disbursement.files import read_yaml
from disbursement.ingest import tokens
from disbursement.ingest.candidates import decide
from disbursement.ingest.read import RawSheet
from disbursement.money import unit_in_header
from disbursement.text import detect_legacy, fold, repair_text

HEADER_SCAN_ROWS = 40
MAX_HEADER_ROWS = 5
ORDINAL_CELL = re.compile(r"^\(?\s*(\d{1,2}|[a-z])\s*\)?(\s*=.*)?$")
DATE_RE = re.compile(r"(\d{1,2})\s*/\s*(\d{1,2})\s*/\s*(\d{4})")
SOURCE_TITLE = re.compile(r"\bnguon\b|^\(?von\b")
# "đến 30/6/2022", "đến hết ngày 30 tháng 6 năm 2022", "đến 30.6.2022", "đến 30/6" (plan year).
ASOF_RE = re.compile(
    r"(?:den|toi)\s*(?:het\s*)?(?:ngay\s*)?(\d{1,2})\s*(?:[/.-]|thang)\s*(\d{1,2})"
    r"(?:\s*(?:[/.-]|nam)\s*(\d{4}|\d{2}))?(?![\d/.-]*\d)"
)
# "đến hết tháng 6/2022", "đến tháng 6 năm 2022": the last day of that month.
ASOF_MONTH_RE = re.compile(
    r"(?:den|toi)\s*(?:het\s*)?thang\s*(\d{1,2})(?:\s*(?:[/.-]|nam)\s*(\d{4}))?(?![\d/.-]*\d)"
)


@dataclass(frozen=True)
class ColumnRule:
    canonical: str
    money: bool
    matches: tuple[tuple[re.Pattern, int], ...]
    excludes: tuple[re.Pattern, ...]


@dataclass(frozen=True)
class Vocabulary:
    year: int
    rules: tuple[ColumnRule, ...]
    not_money: tuple[re.Pattern, ...]
    header_keywords: tuple[re.Pattern, ...]


@lru_cache(maxsize=8)
def load_vocabulary(year: int, path: str | None = None) -> Vocabulary:
    """Compile rules/columns.yaml for a plan year ({year}, {prev}, {next} substituted).

    Read by the one strict YAML reader: an unknown key, a missing `match`, a score that is not
    a number or a pattern that is not a regular expression is refused with the file and the
    key path (`columns.plan_dong.match[1].re: …`), never skipped.
    """
    source = str(path or RULES_DIR / "columns.yaml")
    top = _Reader(source, read_yaml(source, "column vocabulary", RulesInvalid), "")
    top.allow("not_money", "header_keywords", "columns")

    def compile_(pattern: object, where: str) -> re.Pattern:
        if not isinstance(pattern, str):
            top.fail(f"expected a regular expression (text), got {pattern!r}", where)
        text = str(pattern).replace("{year}", str(year)).replace("{prev}", str(year - 1))
        try:
            return re.compile(text.replace("{next}", str(year + 1)))
        except re.error as exc:
            top.fail(f"not a valid regular expression ({exc}): {pattern!r}", where)
            raise  # pragma: no cover - fail() raises

    def patterns(reader: _Reader, key: str, default: object = ...) -> tuple[re.Pattern, ...]:
        values = reader.get(key, list, default)
        where = f"{reader.path}.{key}".lstrip(".")
        return tuple(compile_(v, f"{where}[{i}]") for i, v in enumerate(values))

    rules = []
    columns = top.section("columns")
    for canonical in columns.data:
        spec = columns.section(str(canonical))
        spec.allow("money", "match", "exclude", "examples")
        for i, example in enumerate(spec.get("examples", list, [])):  # ingest.required reads them
            if not isinstance(example, str):
                spec.fail(f"expected a header text, got {example!r}", f"examples[{i}]")
        matches = []
        for m in spec.items("match"):
            m.allow("re", "score")
            matches.append((compile_(m.get("re", str), f"{m.path}.re".lstrip(".")), m.get("score", int)))
        if not matches:
            spec.fail("needs at least one pattern", "match")
        rules.append(
            ColumnRule(
                str(canonical), spec.get("money", bool, False), tuple(matches), patterns(spec, "exclude", [])
            )
        )
    return Vocabulary(year, tuple(rules), patterns(top, "not_money"), patterns(top, "header_keywords"))


@dataclass
class SheetLayout:
    header_top: int  # 0-based row index of the first header row
    header_bottom: int  # 0-based, inclusive
    data_start: int  # 0-based index of the first row after header and ordinal rows
    columns: dict[str, int]  # canonical column → 0-based column index
    paths: list[str]  # flattened header path of every column, as written (NFC)
    unit: str | None
    unit_text: str | None
    as_of: dt.date | None
    as_of_text: str | None
    legacy: str | None
    ordinal_rows: list[int] = field(default_factory=list)
    # Texts that may name the sheet's capital source when it has no source group rows and no
    # "Nguồn vốn" column (one sheet per source): title lines such as "NGUỒN VỐN: XỔ SỐ KIẾN
    # THIẾT" or "(Nguồn vốn ngân sách tỉnh)", then the sheet name. Match them with the rules'
    # source vocabulary; the first that matches is the sheet's source.
    source_hints: list[str] = field(default_factory=list)
    # Columns recognised by their content, not their header (canonical → why), e.g. a code
    # column whose header cell was left blank.
    inferred: dict[str, str] = field(default_factory=dict)
    # Disbursement given only as its parts (advance "Tạm ứng" + payment "Thanh toán KLHT"):
    # their column indexes; disbursed is their sum (giải ngân includes tạm ứng).
    disbursed_parts: tuple[int, ...] = ()
    # canonical → how it was chosen among several candidate columns (ingest.candidates)
    choices: dict[str, dict] = field(default_factory=dict)

    def header_of(self, canonical: str) -> str:
        return self.paths[self.columns[canonical]]


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date):  # a real date cell in a header: as officers write it
        return value.strftime("%d/%m/%Y")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def is_ordinal_row(row: list) -> bool:
    """The column-ordinal row under a header: "1 2 3 …", "(1) (2) …", "10 = 7 - 8 + 9"."""
    values = [fold(_text(v)) for v in row if _text(v)]
    if len(values) < 3:
        return False
    hits = sum(1 for v in values if ORDINAL_CELL.match(v))
    return hits >= 0.8 * len(values)


def find_layout(
    sheet: RawSheet, vocabulary: Vocabulary, as_of: dt.date | None = None
) -> tuple[SheetLayout | None, str]:
    """The sheet's layout, or (None, reason) when the sheet holds no plan table."""
    cells = sheet.cells
    scan = cells[:HEADER_SCAN_ROWS]
    texts = [_text(v) for row in scan for v in row if isinstance(v, str) and v.strip()]
    legacy = detect_legacy(texts)
    top, best = None, 0
    for i, row in enumerate(scan):
        score = _keyword_score(row, vocabulary, legacy)
        if score >= 3 and top is None:
            top, best = i, score
            break
        best = max(best, score)
    if top is None:
        return None, "no header row found (no row with STT / Danh mục / Kế hoạch / Giải ngân …)"
    bottom = _header_bottom(cells, top, sheet.merged)
    paths = _flatten(cells, top, bottom, sheet.merged, legacy)
    data_start = bottom + 1
    ordinal_rows = []
    while data_start < len(cells) and is_ordinal_row(cells[data_start]):
        ordinal_rows.append(data_start)
        data_start += 1
    # A header without a plan or disbursement column is still returned: the caller refuses the
    # sheet with the headers it saw (pipeline / ingest.required), it is never read as 0.
    title_texts = [repair_text(t, legacy) for row in cells[:top] for t in map(_text, row) if t]
    # Candidates for one figure are ranked against the run's as-of date, else the title's.
    candidates = _candidates(paths, vocabulary)
    rank_as_of = as_of or _find_as_of({}, paths, title_texts, vocabulary.year)[0]
    columns, choices = decide(candidates, _assign(candidates), paths, vocabulary.year, rank_as_of)
    inferred = {}
    parts: tuple[int, ...] = ()
    if "disbursed_dong" not in columns and {"advance_dong", "volume_paid_dong"} <= set(columns):
        parts = (columns["advance_dong"], columns["volume_paid_dong"])
        columns["disbursed_dong"] = columns["volume_paid_dong"]
        inferred["disbursed_dong"] = (
            f"sum of '{paths[parts[0]]}' and '{paths[parts[1]]}' (giải ngân includes tạm ứng)"
        )
    if (
        "project_code" not in columns
        and (col := _blank_header_codes(cells, data_start, paths, set(columns.values()))) is not None
    ):
        columns["project_code"] = col
        inferred["project_code"] = "header cell blank; the column holds project codes"
    unit, unit_text = None, None
    for text in title_texts + paths:
        found = unit_in_header(text)
        if found:
            unit, unit_text = found, text
            break
    sheet_as_of, as_of_text = _find_as_of(columns, paths, title_texts, vocabulary.year)
    hints = [t for t in title_texts if SOURCE_TITLE.search(fold(t))] + [sheet.sheet]
    return SheetLayout(
        top,
        bottom,
        data_start,
        columns,
        paths,
        unit,
        unit_text,
        sheet_as_of,
        as_of_text,
        legacy,
        ordinal_rows,
        hints,
        inferred,
        parts,
        choices,
    ), ""


CODE_LIKE = re.compile(r"^\d{5,9}$")


def _blank_header_codes(cells: list[list], data_start: int, paths: list[str], used: set[int]) -> int | None:
    """A column with a blank header whose cells are project codes (5–9 digits, nearly all
    distinct, on most rows that have a value): the "Mã dự án" header was left empty."""
    last = max(used, default=-1)  # a blank header between recognised columns, not beyond
    for col, path in enumerate(paths[:last]):
        if path or col in used:
            continue
        values = [_text(row[col]) for row in cells[data_start : data_start + 500] if col < len(row)]
        values = [v for v in values if v]
        codes = [v for v in values if CODE_LIKE.match(v)]
        if len(codes) >= 2 and len(codes) >= 0.8 * len(values) and len(set(codes)) >= 0.9 * len(codes):
            return col
    return None


def _keyword_score(row: list, vocabulary: Vocabulary, legacy: str | None) -> int:
    score = 0
    for value in row:
        if not isinstance(value, str) or not value.strip():
            continue
        text = repair_text(value, legacy)
        if any(
            p.search(folded)
            for folded in (fold(text), tokens.canonical(text))
            for p in vocabulary.header_keywords
        ):
            score += 1
    return score


def _header_bottom(cells: list[list], top: int, merged: list) -> int:
    spans = [r1 for (r0, _c0), (r1, _c1) in merged if r0 == top and r1 > top]
    if spans:
        # a merge may reach below the last row holding a value (a header-only template)
        return min(max(spans), top + MAX_HEADER_ROWS - 1, len(cells) - 1)
    bottom = top
    for i in range(top + 1, min(top + MAX_HEADER_ROWS, len(cells))):
        row = cells[i]
        if is_ordinal_row(row) or any(isinstance(v, int | float) and not isinstance(v, bool) for v in row):
            break
        if not any(_text(v) for v in row):
            break
        first = _text(row[0]) if row else ""
        if first:  # data rows carry STT ("I", "1", "A") in the first column; headers do not
            break
        bottom = i
    return bottom


def _flatten(cells, top, bottom, merged, legacy) -> list[str]:
    width = max(len(r) for r in cells[top : bottom + 1])
    grid = [[_text(v) for v in cells[i]] + [""] * (width - len(cells[i])) for i in range(top, bottom + 1)]
    for (r0, c0), (r1, c1) in merged:
        if r0 > bottom or r1 < top:
            continue
        value = cells[r0][c0] if r0 < len(cells) and c0 < len(cells[r0]) else ""
        for r in range(max(r0, top), min(r1, bottom) + 1):
            for c in range(c0, min(c1, width - 1) + 1):
                if not grid[r - top][c]:
                    grid[r - top][c] = _text(value)
    if not merged:  # no merge information (csv, some .xls): spread parents over children
        for r in range(len(grid) - 1):
            for c in range(1, width):
                if not grid[r][c] and grid[r + 1][c] and grid[r][c - 1] and grid[r + 1][c - 1]:
                    grid[r][c] = grid[r][c - 1]
    paths = []
    for c in range(width):
        parts: list[str] = []
        for r in range(len(grid)):
            part = " ".join(repair_text(grid[r][c], legacy).split())
            if part and (not parts or parts[-1] != part):
                parts.append(part)
        paths.append(" / ".join(parts))
    return paths


def _map_columns(paths: list[str], vocabulary: Vocabulary) -> dict[str, int]:
    return _assign(_candidates(paths, vocabulary))


def _candidates(paths: list[str], vocabulary: Vocabulary) -> list[tuple[int, int, str]]:
    """(-score, column, canonical) of every column a vocabulary rule matches."""
    # Each path is matched as written (folded) and with abbreviations expanded ("Lũy kế GN
    # từ đầu năm" → "luy ke giai ngan tu dau nam"); a decoy word in either vetoes the column.
    forms = [(fold(p), tokens.canonical(p)) for p in paths]
    this_year = re.compile(rf"\b{vocabulary.year}\b|\bnam (ke hoach|kh)\b")
    scored: dict[tuple[str, str], list[tuple[int, str]]] = {}  # one pass per distinct header
    candidates = []
    for col, (text, expanded) in enumerate(forms):
        if not text:
            continue
        if (text, expanded) not in scored:
            scored[text, expanded] = _scores(text, expanded, vocabulary, this_year)
        candidates += [(-score, col, canonical) for score, canonical in scored[text, expanded]]
    return candidates


def _assign(candidates: list[tuple[int, int, str]]) -> dict[str, int]:
    """Best score first; each sheet column is used for one canonical column."""
    columns: dict[str, int] = {}
    used: set[int] = set()
    for _neg, col, canonical in sorted(candidates):
        if canonical not in columns and col not in used:
            columns[canonical] = col
            used.add(col)
    return columns


def _scores(text: str, expanded: str, vocabulary: Vocabulary, this_year: re.Pattern) -> list[tuple[int, str]]:
    """(score, canonical) of every rule a header path matches and no decoy word vetoes."""
    # "Kế hoạch vốn / Năm 2022" reads as "Kế hoạch vốn năm 2022": match joined paths too.
    texts = {text, expanded, text.replace(" / ", " "), expanded.replace(" / ", " ")}
    money_ok: bool | None = None
    out = []
    for rule in vocabulary.rules:
        score = max((s for pattern, s in rule.matches if any(pattern.search(t) for t in texts)), default=0)
        if not score or any(_excluded(t, rule.excludes, this_year) for t in (text, expanded)):
            continue
        if rule.money:
            if money_ok is None:
                money_ok = not any(x.search(t) for t in (text, expanded) for x in vocabulary.not_money)
            if not money_ok:
                continue
        out.append((score, rule.canonical))
    return out


def _excluded(text: str, excludes, this_year: re.Pattern) -> bool:
    """A decoy word vetoes a column, unless it is only in a parent header shared with a child
    that names this year ("Giải ngân KH năm 2022 và KH năm 2021 kéo dài / KH năm 2022")."""
    leaf = text.rsplit(" / ", 1)[-1]
    for pattern in excludes:
        if pattern.search(text):
            if leaf != text and not pattern.search(leaf) and this_year.search(leaf):
                continue
            return True
    return False


def _find_as_of(columns, paths, title_texts, plan_year=None) -> tuple[dt.date | None, str | None]:
    preferred = [paths[columns["disbursed_dong"]]] if "disbursed_dong" in columns else []
    for text in preferred + title_texts:
        match = ASOF_RE.search(fold(text))
        if match and (match[3] or plan_year):
            day, month = int(match[1]), int(match[2])
            year = int(match[3]) if match[3] else plan_year
            year += 2000 if year < 100 else 0
            try:
                return dt.date(year, month, day), text
            except ValueError:
                continue
        month_match = ASOF_MONTH_RE.search(fold(text))
        if month_match and 1 <= int(month_match[1]) <= 12 and (month_match[2] or plan_year):
            month = int(month_match[1])
            year = int(month_match[2]) if month_match[2] else plan_year
            following = dt.date(year + month // 12, month % 12 + 1, 1)
            return following - dt.timedelta(days=1), text
    return None, None
