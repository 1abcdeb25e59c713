"""Threshold decisions in integers: ``numerator / denominator < pct %`` is
``numerator * 100 < pct * denominator`` (R-CALC-4), never a float."""

from __future__ import annotations

import operator
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np


def below_pct(numerator: int, denominator: int, pct: int) -> bool:
    """Exact ``numerator / denominator < pct %`` as ``numerator * 100 < pct * denominator``.

    "dưới 50%" is strictly below: 499.999 of 1.000.000 is below 50, 500.000 is not.
    """
    return numerator * 100 < pct * denominator


def below_pct_array(numerator: np.ndarray, denominator: np.ndarray, pct: int) -> np.ndarray:
    """Element-wise :func:`below_pct` for int64 arrays, exact without overflow.

    Uses int64 arithmetic when every product fits (amounts up to ~9·10¹⁶ đồng); otherwise
    falls back to Python integers.
    """
    import numpy as np

    pct = operator.index(pct)  # an int: a float threshold would not be exact
    num = np.asarray(numerator, dtype=np.int64)
    den = np.asarray(denominator, dtype=np.int64)
    limit = np.iinfo(np.int64).max
    biggest_num = max(abs(int(num.min())), abs(int(num.max()))) if num.size else 0
    biggest_den = max(abs(int(den.min())), abs(int(den.max()))) if den.size else 0
    if biggest_num * 100 <= limit and biggest_den * abs(pct) <= limit:
        return num * 100 < den * pct
    num_o, den_o = np.broadcast_arrays(num.astype(object), den.astype(object))
    flat = [int(a) * 100 < pct * int(b) for a, b in zip(num_o.ravel(), den_o.ravel(), strict=True)]
    return np.array(flat, dtype=bool).reshape(num_o.shape)
