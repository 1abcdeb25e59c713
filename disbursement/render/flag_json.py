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
from collections.abc import Iterator
from typing import Any

import orjson

from disbursement.json_columns import each, once, records
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
    except (orjson.JSONEncodeError, TypeError):  # a value only the stdlib writes
        return encode_list(iter_flag_records(result, plain=False))


def _json(value: Any) -> bytes:
    return orjson.dumps(value, default=cells_json, option=_JSON_OPTIONS)


def _cells(cells: list) -> Iterator[bytes]:
    """The cells' texts: SourceCells from their sheet's text (`cells_json`), a dict by orjson."""
    return (c.sheet.json_at(c.row) if type(c) is SourceCells else _json(c) for c in cells)


def _optional(lead: bytes, values: list, skip_none: bool) -> Iterator[bytes]:
    """An optional key's texts: "" where a record leaves it out (`skip_none`: its value is None)."""
    return (b"" if skip_none and v is None else lead + _json(v) for v in values)


def _batches(result: RunResult) -> Iterator[list[bytes]]:
    """The records' texts, `_CHUNK` at a time (never all of them held)."""
    info = result.round
    flags = result.flags
    n = len(flags)
    as_of_vn = f"{info.as_of.day}/{info.as_of.month}/{info.as_of.year}"
    reasons, rates = column_texts(flags, "reason"), flags["rate_pct"].tolist()
    said = {
        pair: _reason_text(pair[0], pair[1], info.threshold_pct, as_of_vn)
        for pair in dict.fromkeys(zip(reasons, rates, strict=True))
    }
    cells = [  # as the records hold them: orjson writes SourceCells from their sheet's text
        c if type(c) is SourceCells else plain_cells(c) for c in flags["cells"].tolist()
    ]
    # (lead, texts) in the records' order: distinct values written each, repeating ones once
    fields = [
        (b'{"project_code":', each(column_texts(flags, "project_code"), _json)),
        (b',"project_name":', each(column_texts(flags, "project_name"), _json)),
        (b',"capital_source":', once(column_texts(flags, "capital_source"), _json)),
        (b',"capital_source_label":', once(column_texts(flags, "capital_source_label"), _json)),
        (b',"rule_id":', once(column_texts(flags, "rule_id"), _json)),
        (b',"reason":', once(reasons, _json)),
        (b',"reason_text":', once([said[pair] for pair in zip(reasons, rates, strict=True)], _json)),
        (b',"plan_dong":', each(column_ints(flags, "plan_dong"), _json)),
        (b',"disbursed_dong":', each(column_ints(flags, "disbursed_dong"), _json)),
        (b',"expected_dong":', each(column_ints(flags, "expected_dong"), _json)),
        (b',"rate_pct":', once(rates, _json)),
        (b',"threshold_pct":', itertools.repeat(_json(info.threshold_pct), n)),
        (b',"as_of":', itertools.repeat(_json(info.as_of.isoformat()), n)),
        (b',"status":', once(column_texts(flags, "status"), _json)),
        (b',"investor":', once(column_texts(flags, "investor"), _json)),
        (b',"forecast":', (b"true" if x else b"false" for x in flags["forecast"].tolist())),
        (b',"source":{"file":', once(flags["file"].tolist(), _json)),
        (b',"sheet":', once(flags["sheet"].tolist(), _json)),
        (b',"row":', each(column_ints(flags, "row"), _json)),
        (b',"cells":', _cells(cells)),
    ]
    optional = []  # keys a record has only when its line has them
    if "lifecycle" in flags:
        optional.append(_optional(b',"lifecycle":', flags["lifecycle"].tolist(), False))
    if "evidence" in flags:
        optional.append(_optional(b',"reply":', flags["evidence"].tolist(), True))
    if optional:  # after the source's end, before the record's
        fields += [(b"}", optional[0]), *((b"", texts) for texts in optional[1:])]
    made = records(fields, b"}" if optional else b"}}")
    while batch := list(itertools.islice(made, _CHUNK)):
        yield batch
