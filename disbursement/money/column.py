"""A whole column of cells into exact đồng, vectorised with a verified numpy fast path."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from disbursement.money.parse import _FAST_LIMIT, _STYLES, _style_from_counts, parse_amount

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np


def _fast_floats(x: np.ndarray, unit: int) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised :func:`_from_float` for the cells it can decide exactly.

    Returns (đồng as float64, ok mask). ``ok`` holds where ``r = rint(x·unit)`` satisfies
    ``|r| < 10**15`` and ``|r/unit - x| ≤ 4 ulp(x)``; for those cells the scalar function
    returns exactly ``r`` (for ``r/unit == x`` the shortest repr of ``x`` *is* ``r/unit``,
    since decimals of ≤ 15 significant digits are unique as doubles). The rest (fractions,
    huge values, NaN, inf) go through the scalar path.
    """
    import numpy as np

    with np.errstate(invalid="ignore", over="ignore"):
        r = np.rint(x * float(unit))
        ok = np.abs(r) < _FAST_LIMIT
        ok &= np.abs(r / float(unit) - x) <= 4 * np.spacing(np.abs(x))
    return r, ok


def _ambiguity_note(text: str) -> str:
    return f"ambiguous number {text.strip()!r}: read as vi-VN (en-US would differ)"


def parse_amount_column(
    values: Sequence[Any], unit: int, style: str | None = None
) -> tuple[np.ndarray, np.ndarray, list[tuple[int, str]]]:
    """Read a whole column (as python-calamine returns it) into exact đồng, vectorised.

    Returns ``(amounts, was_blank, problems)``: an ``int64`` array of đồng (0 where blank or
    unreadable), a bool array true for empty cells (None, NaN, "" or whitespace; a dash is
    an explicit zero, not blank) and a list of ``(position, problem)`` for every cell that
    was unreadable, ambiguous, rounded or otherwise noteworthy (positions are 0-based
    indexes into ``values``). Each cell gets exactly what :func:`parse_amount` gives it with
    the column's ``style`` (by default :func:`infer_style` of the column's strings).

    Numbers go through a numpy fast path that is exact (see :func:`_fast_floats`); each
    distinct string is parsed once.
    """
    import numpy as np

    if style not in _STYLES:
        raise ValueError(f"style must be 'vi', 'en' or None, not {style!r}")
    if isinstance(unit, bool) or not isinstance(unit, int) or unit <= 0:
        raise ValueError(f"unit must be a positive int number of đồng, not {unit!r}")

    dtype = getattr(values, "dtype", None)
    if dtype is not None and getattr(dtype, "kind", "") in "fiu":
        items: Any = np.asarray(values)
        numeric = np.arange(len(items))
        floats = items.astype(np.float64)
        others: list[int] = []
        strings: dict[int, str] = {}
        nones: list[int] = []
    else:
        items = values if isinstance(values, list) else list(values)
        kinds = set(map(type, items))
        floats = None
        if str in kinds and kinds <= {float, int, str, type(None)}:
            # python-calamine gives "" for an empty cell, which reads exactly as None (blank):
            # numbers and empty cells together still take the vectorised path.
            cells = np.array(items, dtype=object)
            empty = cells == ""
            if empty.any() and str not in set(map(type, cells[~empty])):
                cells[empty] = None
                items = cells.tolist()
                kinds = (kinds - {str}) | {type(None)}
        if kinds <= {float, int, type(None)}:
            try:
                floats = np.array(items, dtype=np.float64)
            except (OverflowError, TypeError, ValueError):
                floats = None
        others, strings, nones = [], {}, []
        if floats is not None:
            numeric = np.arange(len(items))  # None became NaN: blank
        else:
            num_idx: list[int] = []
            for i, v in enumerate(items):
                t = type(v)
                if t is float or (t is int and -(2**53) <= v <= 2**53):
                    num_idx.append(i)
                elif t is str:
                    strings[i] = v
                elif v is None:
                    nones.append(i)
                else:
                    others.append(i)
            numeric = np.array(num_idx, dtype=np.intp)
            floats = np.array([items[i] for i in num_idx], dtype=np.float64)

    n = len(items)
    amounts = np.zeros(n, dtype=np.int64)
    blank = np.zeros(n, dtype=bool)
    problems: list[tuple[int, str]] = []

    if len(numeric):
        nan = np.isnan(floats)
        blank[numeric[nan]] = True
        r, ok = _fast_floats(floats, unit)
        amounts[numeric[ok]] = r[ok].astype(np.int64)
        others.extend(numeric[~ok & ~nan].tolist())
    blank[nones] = True

    for i in others:
        parsed = parse_amount(items[i], unit)
        if parsed.dong is not None:
            amounts[i] = parsed.dong
        if parsed.problem:
            problems.append((i, parsed.problem))

    if strings:
        unique = Counter(strings.values())
        column_style = style if style is not None else _style_from_counts(unique)
        # per distinct text: (đồng or 0, blank?, problem note or None)
        outcome: dict[str, tuple[int, bool, str | None]] = {}
        for s in unique:
            parsed = parse_amount(s, unit, column_style)
            notes = [parsed.problem] if parsed.problem else []
            if parsed.ambiguous:
                notes.append(_ambiguity_note(s))
            outcome[s] = (parsed.dong or 0, not s.strip(), "; ".join(notes) or None)
        positions = list(strings)
        results = [outcome[s] for s in strings.values()]
        amounts[positions] = [r[0] for r in results]
        blank[positions] = [r[1] for r in results]
        problems.extend((i, r[2]) for i, r in zip(positions, results, strict=True) if r[2])

    problems.sort(key=lambda item: item[0])
    return amounts, blank, problems
