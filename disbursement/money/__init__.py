"""Money as exact integer đồng: reading spreadsheet cells, percentage tests, vi-VN display.

Inside the engine every amount is an ``int`` number of đồng (``int64`` in frames); people read
triệu đồng. Decisions never use floats:

* :func:`parse_amount` / :func:`parse_amount_column` turn cells (numbers, vi-VN or en-US text)
  into đồng with :class:`~decimal.Decimal` or a verified numpy fast path, and report every
  cell they could not read exactly instead of raising.
* :func:`below_pct` is the exact threshold test ``numerator / denominator < pct %``
  ("dưới 50%" is strictly below; R-CALC-4).
* :func:`format_trieu`, :func:`format_dong` render vi-VN amounts ("17.410,437") with integer
  arithmetic, rounding half away from zero; rates ("49,99") are truncated, never rounded up
  (:func:`rate_scaled`, the one rate display policy).

Number notation (R-PARSE-2). vi-VN writes "1.234.567" and "12.345,5"; en-US "1,234,567.5".
A string that is valid in only one notation is read in that notation. A string valid in
both with different values ("1.234", "1,234") is *ambiguous*: read as vi-VN
("1.234" = 1234, "1,234" = 1,234) and flagged, unless the caller passes ``style`` or
:func:`infer_style` finds evidence in the rest of the column. A cell that contradicts an
explicit style is still read by its structure, with a problem note, because the structure
is unambiguous (T8 shows how English re-publications garble magnitudes; the pipeline must
sanity-check totals anyway).

Unit words inside a cell ("1.234 triệu", "5 tỷ đồng", "VND 1,926,908 billion") are accepted:
the cell's own unit is used, and a note is added when it differs from the column's unit.

The package's modules: :mod:`~disbursement.money.units` (the unit table and detector),
:mod:`~disbursement.money.parse` (one cell), :mod:`~disbursement.money.column` (a column),
:mod:`~disbursement.money.threshold` (decisions), :mod:`~disbursement.money.display` (text).
Every name is importable from ``disbursement.money`` as before the split.
"""

from __future__ import annotations

from disbursement.money.column import (
    parse_amount_column,
)
from disbursement.money.display import (
    format_dong,
    format_pct,
    format_rate,
    format_rates,
    format_scaled,
    format_trieu,
    rate_scaled,
    trieu_float,
)
from disbursement.money.parse import (
    MAX_DONG,
    ParsedAmount,
    infer_style,
    parse_amount,
)
from disbursement.money.threshold import (
    below_pct,
    below_pct_array,
)
from disbursement.money.units import (
    UNIT_KEYS,
    UNIT_TABLE,
    UNITS,
    Unit,
    detect_foreign_unit,
    detect_unit,
    unit_in_header,
    unit_label,
)

__all__ = [
    "MAX_DONG",
    "UNITS",
    "UNIT_KEYS",
    "UNIT_TABLE",
    "ParsedAmount",
    "Unit",
    "below_pct",
    "below_pct_array",
    "detect_foreign_unit",
    "detect_unit",
    "format_dong",
    "format_pct",
    "format_rate",
    "format_rates",
    "format_scaled",
    "format_trieu",
    "infer_style",
    "parse_amount",
    "parse_amount_column",
    "rate_scaled",
    "trieu_float",
    "unit_in_header",
    "unit_label",
]
