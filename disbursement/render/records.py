"""Flags and issues as JSON (the stable `review --json` contract), CSV and formatted xlsx.

The JSON contract: {"flags": [...], "issues": [...], "summary": {...}} with integer đồng,
1-based Excel rows and NFC names exactly as written. Keys are only ever added.
"""

from __future__ import annotations

import functools
import itertools
import json
import zlib
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor

import orjson
import pandas as pd

from disbursement.model import RunResult
from disbursement.source_cells import SourceCells, cells_json, plain_cells


def _optional_int(value):
    import pandas as pd

    return None if value is None or pd.isna(value) else int(value)


def _optional_str(value):
    import pandas as pd

    return None if value is None or pd.isna(value) else str(value)


@functools.lru_cache(maxsize=16384)
def _reason_text(code: str, rate: str, threshold, as_of: str) -> str:
    from disbursement.render import reason_text

    details = {"rate": rate, "as_of": as_of}
    if threshold is not None:
        details["threshold"] = threshold
    return reason_text(code, "vi", **details)


def flag_records(result: RunResult) -> list[dict]:
    """One JSON-ready dict per flagged line, in workbook order."""
    return list(iter_flag_records(result))


def iter_flag_records(result: RunResult, *, plain: bool = True) -> Iterator[dict]:
    """`flag_records` one by one: encoded as they come (`encode_list`), a national run's
    56,000 records (~115 MB) are never held together. `plain=False` leaves each record's
    cells as its line holds them, for `write_json`'s encoder (`cells_json`): no dict made."""
    info = result.round
    flags = result.flags
    as_of_vn = f"{info.as_of.day}/{info.as_of.month}/{info.as_of.year}"
    as_of, threshold = info.as_of.isoformat(), info.threshold_pct

    def texts(name: str) -> list:
        return column_texts(flags, name)

    def ints(name: str) -> list:
        return column_ints(flags, name)

    lifecycle = flags["lifecycle"].tolist() if "lifecycle" in flags else None
    evidence = flags["evidence"].tolist() if "evidence" in flags else None
    columns = zip(
        texts("project_code"),
        texts("project_name"),
        texts("capital_source"),
        texts("capital_source_label"),
        texts("rule_id"),
        texts("reason"),
        ints("plan_dong"),
        ints("disbursed_dong"),
        ints("expected_dong"),
        flags["rate_pct"].tolist(),
        texts("status"),
        texts("investor"),
        flags["forecast"].tolist(),
        flags["file"].tolist(),
        flags["sheet"].tolist(),
        ints("row"),
        flags["cells"].tolist(),  # each expanded as its record is made (`plain_cells`)
        strict=True,
    )
    for i, (
        code,
        name,
        source,
        label,
        rule,
        reason,
        plan,
        disbursed,
        expected,
        rate,
        status,
        investor,
        forecast,
        file,
        sheet,
        row,
        cells,
    ) in enumerate(columns):
        record = {
            "project_code": code,
            "project_name": name,
            "capital_source": source,
            "capital_source_label": label,
            "rule_id": rule,
            "reason": reason,
            "reason_text": _reason_text(reason, rate, threshold, as_of_vn),
            "plan_dong": plan,
            "disbursed_dong": disbursed,
            "expected_dong": expected,
            "rate_pct": rate,
            "threshold_pct": threshold,
            "as_of": as_of,
            "status": status,
            "investor": investor,
            "forecast": bool(forecast),
            "source": {
                "file": file,
                "sheet": sheet,
                "row": row,
                "cells": cells if not plain and type(cells) is SourceCells else plain_cells(cells),
            },
        }
        if lifecycle is not None:  # set when the audit store knows the previous round
            record["lifecycle"] = lifecycle[i]
        if evidence is not None and evidence[i] is not None:  # figures an investor's reply gave
            record["reply"] = evidence[i]
        yield record


def column_texts(frame: pd.DataFrame, name: str) -> list:
    """A column's values as text, NA (and NaN) as None; None for every line without it. A
    text column in one C-level pass."""
    if name not in frame:
        return [None] * len(frame)
    column = frame[name]
    if isinstance(column.dtype, pd.StringDtype):  # text or NA
        values = column.to_numpy(dtype=object, na_value=None).tolist()
        if set(map(type, values)) <= {str, type(None)}:  # not a subclass of str: as it is
            return values
    return [None if v is None or v is pd.NA or v != v else str(v) for v in column.astype(object).tolist()]


def column_ints(frame: pd.DataFrame, name: str) -> list:
    """A column's values as int, NA as None; None for every line without it."""
    if name not in frame:
        return [None] * len(frame)
    column = frame[name]
    if column.dtype.kind in "iu":  # int64 or Int64: Python ints, NA as None
        return column.to_numpy(dtype=object, na_value=None).tolist()
    return [None if v is None or v is pd.NA else int(v) for v in column.astype(object).tolist()]


_JSON_OPTIONS = orjson.OPT_NON_STR_KEYS  # int keys become text, as the stdlib writes them


def _encode(value) -> bytes:
    return _encoded(value)[0]


def _encoded(value) -> tuple[bytes, bool]:
    """(JSON of `value`, whether orjson wrote it); the stdlib writes what orjson refuses
    (text with lone surrogates, integers past 64 bits)."""
    try:
        return orjson.dumps(value, default=cells_json, option=_JSON_OPTIONS), True
    except (orjson.JSONEncodeError, TypeError):
        return json.dumps(value, default=_plain).encode("ascii"), False


def _plain(value):
    """The stdlib's `default`, `cells_json`'s twin: source cells as their dict; anything else
    refused, as without it."""
    if type(value) is SourceCells:
        return plain_cells(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


class EncodedList:
    """A list already written as `write_json` writes it (`encode_list`): the flag records the
    audit store keeps and `--json` prints are encoded once. The text is kept compressed
    (`packed`, one zlib stream: a national run's 70 MB of flag JSON is ~7 MB), and is
    `chunks` again as it is printed. `plain`: every element was written by orjson."""

    def __init__(self, packed: bytes, plain: bool = True) -> None:
        self.packed, self.plain = packed, plain

    @property
    def chunks(self) -> Iterator[bytes]:
        unpacker = zlib.decompressobj()
        for start in range(0, len(self.packed), _PIECE):
            yield unpacker.decompress(self.packed[start : start + _PIECE])
        yield unpacker.flush()


_PIECE = 1 << 18  # packed bytes unpacked at a time (~2 MB of text)
_CHUNK = 1024  # elements per join: orjson's output buffers are reused, not kept (7 KB each)


def _list_chunks(values: Iterable, stdlib: list[int] | None = None) -> Iterator[bytes]:
    """The text of a list as `write_json` writes it — "[", one element per line, "]" — in
    chunks of `_CHUNK` elements; `stdlib` collects the positions orjson could not write."""
    elements = iter(values)

    def batches() -> Iterator[list[bytes]]:
        start = 0
        while batch := list(itertools.islice(elements, _CHUNK)):
            items = []
            for i, value in enumerate(batch, start):
                text, plain = _encoded(value)
                items.append(text)
                if not plain and stdlib is not None:
                    stdlib.append(i)
            yield items
            start += len(batch)

    return framed(batches())


def framed(batches: Iterable[list[bytes]]) -> Iterator[bytes]:
    """A list's text in chunks from its elements' texts, a batch at a time: "[", the elements
    one a line, "]" (what `_list_chunks` writes; `render.flag_json` makes the texts)."""
    written = 0
    for items in batches:
        if items:
            yield (b",\n" if written else b"[\n") + b",\n".join(items)
            written += len(items)
    yield b"\n]" if written else b"[]"


def encode_list(values: Iterable) -> EncodedList:
    """The list's text as `write_json` writes it, compressed as it is written (`values` may be
    consumed as it is encoded: a generator's elements are not kept)."""
    stdlib: list[int] = []
    packed = pack(_list_chunks(values, stdlib))
    return EncodedList(packed, plain=not stdlib)


def pack(chunks: Iterable[bytes]) -> bytes:
    """`chunks` compressed as one zlib stream, as the audit store's blocks are. zlib runs
    without the GIL: each chunk is compressed on a thread while the next one is made."""
    from disbursement.audit.blocks import LEVEL  # packed as the audit store's blocks are

    packer = zlib.compressobj(LEVEL)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="pack") as pool:
        pieces = [pool.submit(packer.compress, chunk) for chunk in chunks]
        packed = b"".join([piece.result() for piece in pieces])
    return packed + packer.flush()


def write_json(payload: dict, stream) -> None:
    """Write `payload` as UTF-8 JSON bytes, one list element per line, each encoded by orjson.

    Same value as `json.dumps(payload)` (tests/render/test_json_output.py), about 4× faster
    than the stdlib's C encoder, and never holds the whole text in memory (a national run's
    flags and issues are ~100 MB of JSON). A value given as an iterator is written as a list,
    each element made as it is written. `stream.write` takes bytes.
    """
    stream.write(b"{")
    write_members(payload, stream)
    stream.write(b"\n}\n")
    stream.flush()


def write_members(payload: dict, stream, *, after: bool = False) -> None:
    """The members of `payload` as `write_json` writes them between its braces; `after`: a
    member was written before them (the members of one object written in two goes — the
    session writes the result's while the run is recorded, the CLI adds the audit's)."""
    for k, (key, value) in enumerate(payload.items()):
        stream.write((b"," if k or after else b"") + b"\n" + _encode(key) + b": ")
        if isinstance(value, EncodedList | list | Iterator):
            for chunk in value.chunks if isinstance(value, EncodedList) else _list_chunks(value):
                stream.write(chunk)
        else:
            stream.write(_encode(value))


def result_json(
    result: RunResult,
    *,
    flags: list[dict] | EncodedList | None = None,
    proposal: dict | None = None,
    lazy: bool = False,
) -> dict:
    """The `--json` payload; `flags` / `proposal` are `flag_records(result)` (or its
    `encode_list`) / `proposal_json(result.proposal)` when the caller has them already.
    `lazy`: the issues and notes as iterators for `write_json`, each record made as it is
    written (a national run's 38,000 notes held as dicts were 70 MB at the print's peak)."""
    # The contract's issues are errors and warnings; info records go to "notes" (same shape).
    issues = (x.to_dict() for x in result.issues if x.severity in ("error", "warning"))
    notes = (x.to_dict() for x in result.issues if x.severity not in ("error", "warning"))
    out = {
        "flags": flag_records(result) if flags is None else flags,
        "issues": issues if lazy else list(issues),
        "notes": notes if lazy else list(notes),
        "summary": result.summary,
    }
    if result.proposal is not None:
        out["proposal"] = proposal_json(result.proposal) if proposal is None else proposal
    if result.replies is not None:  # only when the review was given investors' replies
        out["replies"] = result.replies
    return out


def proposal_json(proposal) -> dict:
    def line(x) -> dict:
        entry = {
            "project_code": x.project_code,
            "project_name": x.project_name,
            "capital_source": x.capital_source,
            "pool": x.pool,
            "amount_dong": int(x.amount_dong),
            "plan_dong": int(x.plan_dong),
            "disbursed_dong": int(x.disbursed_dong),
            "plan_after_dong": int(x.plan_after_dong),
            "reason": x.reason,
            "tier": x.tier,
            "source": x.source.to_dict(),
        }
        if x.override:
            entry["override"] = dict(x.override)
        return entry

    return {
        "pools": [
            {
                "pool": p.pool,
                "capital_source": p.capital_source,
                "recalled_dong": int(p.recalled_dong),
                "allocated_dong": int(p.allocated_dong),
                "unallocated_dong": int(p.unallocated_dong),
            }
            for p in proposal.pools
        ],
        "decreases": [line(x) for x in proposal.decreases],
        "increases": [line(x) for x in proposal.increases],
        "policy": proposal.policy,
    }
