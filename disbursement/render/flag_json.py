"""The flag records' JSON made a column at a time: each value written once by orjson, never a
dict per record.

A national run has 10^5 flag records, each a dict of nineteen keys that orjson then writes
(`records.iter_flag_records`): ~4 µs a record, on the second core while the proposal is made
(session._WhileProposing). Every record has the same keys in the same order, so its text is
the key texts with each value's own orjson text between them: the values of a column that
repeat (sources, rules, statuses, files, the reason text of a rate) are written once, the
others one C-level `map` per column, and a record is one `bytes.join`. The bytes are exactly
`encode_list(iter_flag_records(result, plain=False))`'s (tests/render/test_flag_json.py);
where orjson refuses a value (a lone surrogate, say) the records are made the usual way.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import orjson

from disbursement.model import RunResult
from disbursement.render.records import (
    _CHUNK,
    _JSON_OPTIONS,
    EncodedList,
    _reason_text,
    column_ints,
    column_texts,
    encode_list,
    framed,
    iter_flag_records,
    pack,
)
from disbursement.source_cells import SourceCells, cells_json, plain_cells


def encode_flags(result: RunResult) -> EncodedList:
    """`encode_list(iter_flag_records(result, plain=False))`, made column by column."""
    try:
        return EncodedList(pack(framed(_batches(result))), plain=True)
    except (orjson.JSONEncodeError, TypeError, KeyError):  # a value only the stdlib writes
        return encode_list(iter_flag_records(result, plain=False))


def _json(value: Any) -> bytes:
    return orjson.dumps(value, default=cells_json, option=_JSON_OPTIONS)


def _once(values: list) -> Callable[[list], Iterator[bytes]]:
    """The texts of a column whose values repeat: each distinct value written once (a value
    that is not its own key, such as a NaN, raises KeyError: made the usual way then)."""
    written = {value: _json(value) for value in dict.fromkeys(values)}
    return lambda part: map(written.__getitem__, part)


def _each(part: list) -> Iterator[bytes]:
    """Texts of a column of distinct text, integers or None (no `default` is needed)."""
    return map(orjson.dumps, part)


def _cells(part: list) -> Iterator[bytes]:
    """The cells' texts: SourceCells from their sheet's text (`cells_json`), a dict by orjson."""
    return (c.sheet.json_at(c.row) if type(c) is SourceCells else _json(c) for c in part)


def _optional(lead: bytes, part: list, skip_none: bool) -> Iterator[bytes]:
    """An optional key's texts: "" where a record leaves it out (`skip_none`: its value is None)."""
    return (b"" if skip_none and v is None else lead + _json(v) for v in part)


def _batches(result: RunResult) -> Iterator[list[bytes]]:
    """The records' texts, `_CHUNK` at a time (never all of them held)."""
    info = result.round
    flags = result.flags
    n = len(flags)
    as_of_vn = f"{info.as_of.day}/{info.as_of.month}/{info.as_of.year}"

    def texts(name: str) -> list:  # as iter_flag_records makes them
        return column_texts(flags, name)

    def ints(name: str) -> list:
        return column_ints(flags, name)

    reasons, rates = texts("reason"), flags["rate_pct"].tolist()
    said = {
        pair: _reason_text(pair[0], pair[1], info.threshold_pct, as_of_vn)
        for pair in dict.fromkeys(zip(reasons, rates, strict=True))
    }
    reason_texts = [said[pair] for pair in zip(reasons, rates, strict=True)]
    rows = ints("row")
    cells = [
        c if type(c) is SourceCells else plain_cells(c) for c in flags["cells"].tolist()
    ]  # as the records hold them: orjson writes SourceCells from their sheet's text
    # (key text, column, how its values are written), in the records' order
    fields: list[tuple[bytes, list, Callable[[list], Iterator[bytes]]]] = []
    for key, column, repeats in (  # repeats None: the cells
        ("project_code", texts("project_code"), False),
        ("project_name", texts("project_name"), False),
        ("capital_source", texts("capital_source"), True),
        ("capital_source_label", texts("capital_source_label"), True),
        ("rule_id", texts("rule_id"), True),
        ("reason", reasons, True),
        ("reason_text", reason_texts, True),
        ("plan_dong", ints("plan_dong"), False),
        ("disbursed_dong", ints("disbursed_dong"), False),
        ("expected_dong", ints("expected_dong"), False),
        ("rate_pct", rates, True),
        ("threshold_pct", [info.threshold_pct] * n, True),
        ("as_of", [info.as_of.isoformat()] * n, True),
        ("status", texts("status"), True),
        ("investor", texts("investor"), True),
        ("forecast", [bool(x) for x in flags["forecast"].tolist()], True),
        ("source", flags["file"].tolist(), True),  # "source": {"file": …
        ("sheet", flags["sheet"].tolist(), True),
        ("row", rows, False),
        ("cells", cells, None),
    ):
        lead = b'{"project_code":' if key == "project_code" else b"," + orjson.dumps(key) + b":"
        if key == "source":
            lead = b',"source":{"file":'
        fields.append((lead, column, _cells if repeats is None else _once(column) if repeats else _each))
    optional = []  # keys a record has only when its line has them
    if "lifecycle" in flags:
        optional.append((b',"lifecycle":', flags["lifecycle"].tolist(), False))
    if "evidence" in flags:
        optional.append((b',"reply":', flags["evidence"].tolist(), True))
    for start in range(0, n, _CHUNK):
        end = min(start + _CHUNK, n)
        parts: list[Any] = []
        for lead, column, write in fields:
            parts += [itertools.repeat(lead), write(column[start:end])]
        parts.append(itertools.repeat(b"}"))  # the end of "source"
        parts += [_optional(lead, column[start:end], skip_none) for lead, column, skip_none in optional]
        parts.append(itertools.repeat(b"}"))
        yield list(map(b"".join, zip(*parts, strict=False)))  # the leads repeat without end
