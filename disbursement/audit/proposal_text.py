"""The record's proposal part made a column at a time from the proposal lines, no dict a line.

The proposal block (audit/blocks.py) is the canonical JSON — keys sorted — of every proposal
line as `review --json` prints it, with its `kind` first added: `blocks._text([{"kind": …,
**proposal_json(proposal) line}, …])`. A national proposal has ~34,000 lines; making a dict
of each and writing the dicts took a fifth of the record. Every line has the same keys, so
its text is the sorted key texts with each value's own orjson text between them (the values
that repeat — kinds, sources, pools, reasons, tiers, files — written once). The bytes are the
same (tests/audit/test_proposal_text.py); where orjson refuses a value, `proposal_text`
raises and the record makes the dicts as before.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from disbursement.audit.chain import _ORJSON as _SORTED
from disbursement.audit.chain import _jsonable
from disbursement.json_columns import each, once, records
from disbursement.model import Proposal, ProposalLine
from disbursement.source_cells import SourceCells, plain_cells

REFUSED = (orjson.JSONEncodeError, TypeError)  # what `proposal_text` raises for such a value


def proposal_text(proposal: Proposal) -> bytes:
    """`blocks._text` of the proposal's records (decreases, then increases)."""
    lines: list[ProposalLine] = [*proposal.decreases, *proposal.increases]
    if not lines:
        return b"[]"
    kinds = ["decrease"] * len(proposal.decreases) + ["increase"] * len(proposal.increases)
    sources = [x.source for x in lines]
    # (lead, texts) in the sorted order of the keys; "source" holds cells, file, row, sheet
    fields = [
        (b'{"amount_dong":', each([int(x.amount_dong) for x in lines], _json)),
        (b',"capital_source":', once([x.capital_source for x in lines], _json)),
        (b',"disbursed_dong":', each([int(x.disbursed_dong) for x in lines], _json)),
        (b',"kind":', once(kinds, _json)),
        (b"", _overrides(lines)),
        (b',"plan_after_dong":', each([int(x.plan_after_dong) for x in lines], _json)),
        (b',"plan_dong":', each([int(x.plan_dong) for x in lines], _json)),
        (b',"pool":', once([x.pool for x in lines], _json)),
        (b',"project_code":', each([x.project_code for x in lines], _json)),
        (b',"project_name":', each([x.project_name for x in lines], _json)),
        (b',"reason":', once([x.reason for x in lines], _json)),
        (b',"source":{', _cells([s.cells for s in sources])),
        (b'"file":', once([s.file for s in sources], _json)),
        (b',"row":', each([s.row for s in sources], _json)),
        (b',"sheet":', once([s.sheet for s in sources], _json)),
        (b'},"tier":', once([x.tier for x in lines], _json)),
    ]
    return b"[" + b",".join(records(fields, b"}")) + b"]"


def _json(value: Any) -> bytes:
    return orjson.dumps(value, default=_jsonable, option=_SORTED)


def _overrides(lines: list[ProposalLine]) -> Iterator[bytes]:
    """',"override":{…}' where a line was set by an approved override, else nothing."""
    return (b',"override":' + _json(dict(x.override)) if x.override else b"" for x in lines)


def _cells(cells: list) -> Iterator[bytes]:
    """'"cells":{…},' for a line with source cells (keys sorted), else nothing — as
    `SourceRef.to_dict` leaves out empty cells."""
    for c in cells:
        if not c:
            yield b""
        elif type(c) is SourceCells:
            yield b'"cells":' + c.sheet.sorted_json_at(c.row) + b","
        else:
            yield b'"cells":' + _json(plain_cells(c)) + b","
