"""Records of the same keys written as JSON a column at a time: no dict a record.

A national run writes 10^5 flag records for `--json` and 10^4 proposal records for the audit
store, every record with the same keys in the same order. Its text is then the key texts
("lead"s) with each value's own JSON text between them, so a column is written with one
C-level `map` (`each`), or, where its values repeat (sources, rules, files, reasons), each
distinct value once (`once`); a record is one `bytes.join` of its pieces (`records`).
render/flag_json.py and audit/proposal_text.py write their records so; their tests check the
bytes against the records made as dicts and written whole.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from typing import Any

Write = Callable[[Any], bytes]

_HASHED_ALIKE = {str, type(None)}  # values that are equal only when written alike


def each(values: list, write: Write) -> Iterator[bytes]:
    """The texts of a column, one `write` a value."""
    return map(write, values)


def once(values: list, write: Write) -> Iterator[bytes]:
    """The texts of a column whose values repeat, each distinct value written once. Only for
    text and None: 1, 1.0 and True (or 0.0 and -0.0) are one key but three texts."""
    if not set(map(type, values)) <= _HASHED_ALIKE:
        return map(write, values)
    written = {value: write(value) for value in dict.fromkeys(values)}
    return map(written.__getitem__, values)


def records(fields: Iterable[tuple[bytes, Iterable[bytes]]], end: bytes) -> Iterator[bytes]:
    """Each record's text, made as it is asked for: for each field its lead then its value's
    text, then `end`."""
    parts: list[Any] = []
    for lead, texts in fields:
        parts += [itertools.repeat(lead), texts]
    parts.append(itertools.repeat(end))
    return map(b"".join, zip(*parts, strict=False))  # the leads repeat without end
