"""The register: every reviewed line with its state, and summaries per investor and per area.

Only flagged lines reach flags.xlsx; the register (`so_theo_doi.xlsx`) names every line the
round read, so an officer can account for all of them: flagged, passed, out of the round's
scope or not applicable (plan 0), with the rate, the threshold, the figure compared, the mark
against the previous round (when the audit store knows one) and the proposal's change. The
summaries are made from the register rows themselves, so they add up to the run's totals.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from disbursement.files import atomic_path, normalise_zip
from disbursement.model import RunResult
from disbursement.money import rate_scaled
from disbursement.render.sheets import SheetStyle, write_sheet
from disbursement.render.words import round_values, wording

REGISTER_NAME = "so_theo_doi.xlsx"
STATES = ("flagged", "passed", "out_of_scope", "not_applicable")


@dataclass(frozen=True, slots=True)
class RegisterLine:
    """One reviewed line as the register shows it (money in integer đồng)."""

    project_code: str
    project_name: str
    investor: str
    location: str
    capital_source: str
    capital_source_label: str
    plan_dong: int
    disbursed_dong: int
    compared_dong: int | None  # the figure the criterion compared (disbursed or expected)
    rate_hundredths: int | None  # truncated rate in hundredths of a percent; None for plan 0
    threshold_pct: int | None
    state: str  # one of STATES
    lifecycle: str  # "new" | "persisting" | "cleared" | ""
    change_dong: int  # proposal: negative recalled, positive received, 0 untouched
    file: str
    sheet: str
    row: int


def rate_hundredths(rate_text: str) -> int | None:
    """The one truncated rate policy ("49,99" → 4999), read back from the review's rate text."""
    text = str(rate_text or "").strip()
    if not text:
        return None
    return int(text.replace(",", "").replace(".", ""))


def rate_fraction(hundredths: int | None) -> float | None:
    """The truncated rate as a number for a percent-formatted cell (4999 → 0.4999)."""
    return None if hundredths is None else hundredths / 10_000


def _text(value: object) -> str:
    return "" if value is None or pd.isna(value) else str(value)


def _changes(result: RunResult) -> dict[tuple[str, str, int], int]:
    changes: dict[tuple[str, str, int], int] = {}
    if result.proposal is None:
        return changes
    for sign, lines in ((-1, result.proposal.decreases), (1, result.proposal.increases)):
        for x in lines:
            key = (x.source.file, x.source.sheet, int(x.source.row))
            changes[key] = changes.get(key, 0) + sign * int(x.amount_dong)
    return changes


def _lifecycles(result: RunResult) -> tuple[dict[tuple[str, str, int], str], set[tuple[str, str]]]:
    flags = result.flags
    marks: dict[tuple[str, str, int], str] = {}
    if "lifecycle" in flags:
        for file, sheet, row, mark in zip(
            flags["file"].tolist(),
            flags["sheet"].tolist(),
            flags["row"].tolist(),
            flags["lifecycle"].tolist(),
            strict=True,
        ):
            marks[(file, sheet, int(row))] = str(mark)
    block = (result.summary or {}).get("lifecycle") or {}
    cleared = {
        (_text(c.get("project_code")), _text(c.get("capital_source"))) for c in block.get("cleared", ())
    }
    return marks, cleared


def register_lines(result: RunResult) -> list[RegisterLine]:
    """Every line of the evaluated plan, in workbook order."""
    plan = result.plan
    if not len(plan):
        return []
    info = result.round
    changes = _changes(result)
    marks, cleared = _lifecycles(result)
    compare_expected = info.threshold_pct is None and "expected_dong" in plan
    columns = [
        plan[c].astype(object).tolist() if c in plan else [None] * len(plan)
        for c in (
            "project_code",
            "project_name",
            "investor",
            "location",
            "capital_source",
            "capital_source_label",
            "plan_dong",
            "disbursed_dong",
            "expected_dong",
            "rate_pct",
            "in_scope",
            "applicable",
            "flagged",
            "file",
            "sheet",
            "row",
        )
    ]
    out = []
    for (
        code,
        name,
        investor,
        location,
        source,
        label,
        plan_dong,
        disbursed,
        expected,
        rate,
        in_scope,
        applicable,
        flagged,
        file,
        sheet,
        row,
    ) in zip(*columns, strict=True):
        code_text, source_text = _text(code), _text(source) or "UNKNOWN"
        if flagged is True:
            state = "flagged"
        elif applicable is False:
            state = "not_applicable"
        elif in_scope is True:
            state = "passed"
        else:
            state = "out_of_scope"
        key = (file, sheet, int(row))
        lifecycle = marks.get(key, "")
        if not lifecycle and state != "flagged" and (code_text, source_text) in cleared:
            lifecycle = "cleared"
        compared: int | None = int(disbursed)
        if compare_expected:
            compared = None if _text(expected) == "" else int(expected)
        out.append(
            RegisterLine(
                code_text,
                _text(name),
                _text(investor),
                _text(location),
                source_text,
                _text(label) or source_text,
                int(plan_dong),
                int(disbursed),
                compared,
                rate_hundredths(_text(rate)),
                info.threshold_pct,
                state,
                lifecycle,
                changes.get(key, 0),
                str(file),
                str(sheet),
                int(row),
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class GroupTotal:
    """Lines, plan, disbursed, flagged, recalled and received of one investor or area."""

    name: str
    lines: int
    plan_dong: int
    disbursed_dong: int
    flagged: int
    recalled_dong: int
    received_dong: int

    @property
    def rate_hundredths(self) -> int | None:
        return rate_scaled(self.disbursed_dong, self.plan_dong) if self.plan_dong > 0 else None


def group_totals(
    lines: Iterable[RegisterLine], key: Callable[[RegisterLine], str], blank: str
) -> list[GroupTotal]:
    """Per-group totals in order of first appearance; the groups add up to the whole register."""
    groups: dict[str, list[RegisterLine]] = {}
    for line in lines:
        groups.setdefault(key(line) or blank, []).append(line)
    return [
        GroupTotal(
            name,
            len(part),
            sum(x.plan_dong for x in part),
            sum(x.disbursed_dong for x in part),
            sum(x.state == "flagged" for x in part),
            -sum(x.change_dong for x in part if x.change_dong < 0),
            sum(x.change_dong for x in part if x.change_dong > 0),
        )
        for name, part in groups.items()
    ]


def district(line: RegisterLine) -> str:
    """The district (huyện / thành phố) of a location: Vietnamese writes the largest unit last."""
    return line.location.rsplit(",", 1)[-1].strip()


def register_words(env: jinja2.Environment, result: RunResult, lang: str) -> Any:
    return wording(env, "so_theo_doi", lang, round=round_values(result.round))


def register_rows(lines: list[RegisterLine], words: Any) -> list[list]:
    """Register sheet rows: money as đồng ints (shown in triệu), rates as truncated fractions."""
    states, marks, row_word = words.states, words.lifecycles, str(words.row_word)
    return [
        [
            i,
            x.project_code,
            x.project_name,
            x.investor,
            x.location,
            x.capital_source_label,
            x.plan_dong,
            x.disbursed_dong,
            x.compared_dong,
            rate_fraction(x.rate_hundredths),
            None if x.threshold_pct is None else x.threshold_pct / 100,
            states[x.state],
            marks.get(x.lifecycle, x.lifecycle),
            x.change_dong or None,
            f"{Path(x.file).name} / {x.sheet} / {row_word} {x.row}",
        ]
        for i, x in enumerate(lines, start=1)
    ]


def summary_rows(groups: list[GroupTotal], total_word: str) -> list[list]:
    rows: list[list] = [
        [
            i,
            g.name,
            g.lines,
            g.plan_dong,
            g.disbursed_dong,
            rate_fraction(g.rate_hundredths),
            g.flagged,
            g.recalled_dong,
            g.received_dong,
        ]
        for i, g in enumerate(groups, start=1)
    ]
    plan = sum(g.plan_dong for g in groups)
    disbursed = sum(g.disbursed_dong for g in groups)
    rows.append(
        [
            "",
            total_word,
            sum(g.lines for g in groups),
            plan,
            disbursed,
            rate_fraction(rate_scaled(disbursed, plan) if plan > 0 else None),
            sum(g.flagged for g in groups),
            sum(g.recalled_dong for g in groups),
            sum(g.received_dong for g in groups),
        ]
    )
    return rows


SUMMARIES = ("investor", "area")  # per investor (chủ đầu tư), per district or commune


def write_summaries(book: Any, lines: list[RegisterLine], words: Any, kinds: tuple[str, ...]) -> None:
    """The summary sheets of `kinds` into an xlsxwriter `book` (the register's, or the
    appendix's when the settings ask for them): they add up to the run's totals."""
    style = SheetStyle(unit=str(words.unit))
    headers = [
        str(words.h_stt),
        "",
        str(words.h_lines),
        str(words.h_plan),
        str(words.h_disbursed),
        str(words.h_rate),
        str(words.h_flagged),
        str(words.h_recalled),
        str(words.h_received),
    ]
    sheets = {
        "investor": (words.sheet_investor, words.title_investor, words.h_investor, lambda x: x.investor),
        "area": (words.sheet_area, words.title_area, words.h_area, district),
    }
    for kind in kinds:
        sheet_name, title, header, key = sheets[kind]
        groups = group_totals(lines, key, str(words.blank))
        write_sheet(
            book,
            str(sheet_name),
            str(title),
            str(words.subtitle),
            [headers[0], str(header), *headers[2:]],
            summary_rows(groups, str(words.total)),
            style,
            money={3, 4, 7, 8},
            percent={5},
            total_last=True,
        )


def write_register(result: RunResult, path: Path, *, env: jinja2.Environment, lang: str = "vi") -> Path:
    """`so_theo_doi.xlsx`: the register sheet, then per-investor and per-area summaries."""
    import xlsxwriter

    words = register_words(env, result, lang)
    lines = register_lines(result)
    style = SheetStyle(unit=str(words.unit))
    with atomic_path(path) as tmp:
        book = xlsxwriter.Workbook(
            str(tmp), {"strings_to_formulas": False, "strings_to_numbers": False, "in_memory": True}
        )
        created = result.round.as_of
        book.set_properties({"title": str(words.title), "created": dt.datetime.combine(created, dt.time())})
        write_sheet(
            book,
            str(words.sheet_register),
            str(words.title),
            str(words.subtitle),
            [
                str(words.h_stt),
                str(words.h_code),
                str(words.h_name),
                str(words.h_investor),
                str(words.h_area),
                str(words.h_source),
                str(words.h_plan),
                str(words.h_disbursed),
                str(words.h_compared),
                str(words.h_rate),
                str(words.h_threshold),
                str(words.h_state),
                str(words.h_lifecycle),
                str(words.h_change),
                str(words.h_where),
            ],
            register_rows(lines, words),
            style,
            money={6, 7, 8, 13},
            percent={9, 10},
            nowrap={14},
        )
        write_summaries(book, lines, words, SUMMARIES)
        book.close()
        normalise_zip(tmp)
    return path
