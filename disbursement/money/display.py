"""vi-VN display of amounts and rates, in integers: amounts round half away from zero at the
last decimal, rates are truncated (the one rate display policy, :func:`rate_scaled`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np


def _group(n: int) -> str:
    return f"{n:,}".replace(",", ".")


def _round_div(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half away from zero (denominator > 0)."""
    q, r = divmod(abs(numerator), denominator)
    if 2 * r >= denominator:
        q += 1
    return -q if numerator < 0 else q


def _decimal_text(scaled: int, decimals: int) -> str:
    """vi-VN text of ``scaled / 10**decimals`` (scaled already rounded)."""
    sign = "-" if scaled < 0 else ""
    whole, frac = divmod(abs(scaled), 10**decimals)
    text = _group(whole)
    if decimals:
        text += "," + str(frac).zfill(decimals)
    return sign + text


def format_trieu(dong: int, decimals: int = 3) -> str:
    """đồng → vi-VN triệu đồng text: 17_410_437_000 → "17.410,437"; -1_234_500_000 →
    "-1.234,500". Exact; rounds half away from zero at the last decimal."""
    dong = int(dong)
    if decimals < 0:
        raise ValueError("decimals must be >= 0")
    if decimals > 6:
        return _decimal_text(dong * 10 ** (decimals - 6), decimals)
    return _decimal_text(_round_div(dong, 10 ** (6 - decimals)), decimals)


def format_dong(dong: int) -> str:
    """đồng → vi-VN text with "." grouping: 17_410_437_000 → "17.410.437.000"."""
    dong = int(dong)
    return ("-" if dong < 0 else "") + _group(abs(dong))


def rate_scaled(num: int, den: int, decimals: int = 2) -> int | None:
    """The one rate display policy: ``num / den`` in percent, scaled by ``10**decimals`` and
    truncated toward zero, in integers; ``None`` when ``den == 0`` (rate undefined, R-CALC-2).

    Truncation, never rounding up, is what keeps a line under a threshold from ever reading as
    the threshold (499.960.000 of 1.000.000.000 is "49,99", not "50,00"): every output that
    shows a rate (terminal, JSON display strings, flags, register, memo, appendix) goes
    through this function.
    """
    num, den = int(num), int(den)
    if den == 0:
        return None
    if den < 0:
        num, den = -num, -den
    scaled = abs(num) * 100 * 10**decimals // den
    return -scaled if num < 0 else scaled


def format_scaled(scaled: int, decimals: int = 2) -> str:
    """vi-VN text of a rate already scaled by :func:`rate_scaled`: 4999 → "49,99"."""
    return _decimal_text(scaled, decimals)


def format_pct(num: int, den: int, decimals: int = 2) -> str:
    """``num / den`` as a vi-VN percentage without the sign: (4_999, 10_000) → "49,99";
    (499_960, 1_000_000) → "49,99" (truncated by :func:`rate_scaled`, never rounded up).

    ``den == 0`` gives "" (rate undefined, R-CALC-2). Display only: decisions use
    :func:`below_pct`.
    """
    scaled = rate_scaled(num, den, decimals)
    return "" if scaled is None else _decimal_text(scaled, decimals)


def format_rate(disbursed: int, plan: int, threshold_pct: int | None = None) -> str:
    """A line's rate for documents, the same text as everywhere (:func:`format_pct`).

    ``threshold_pct`` is accepted for older callers and ignored: truncation alone keeps a rate
    below the threshold from reading as the threshold.
    """
    return format_pct(disbursed, plan)


def format_rates(disbursed: np.ndarray, plan: np.ndarray) -> list[str]:
    """:func:`format_pct` of each line (two decimals), vectorised; "" where plan ≤ 0 (a line
    with no plan has no rate: not applicable)."""
    import numpy as np

    disbursed = np.asarray(disbursed, dtype=np.int64)
    plan = np.asarray(plan, dtype=np.int64)
    text = np.full(len(plan), "", dtype=object)
    fast = (plan > 0) & (np.abs(disbursed) < 9 * 10**14)  # ×10^4 stays inside int64
    scaled = np.abs(disbursed[fast]) * 10_000 // plan[fast]
    scaled[disbursed[fast] < 0] *= -1
    # Each distinct rate written once: a round's lines share a few thousand ("0,00" most).
    distinct, which = np.unique(scaled, return_inverse=True)
    text[fast] = np.array([_decimal_text(h, 2) for h in distinct.tolist()], dtype=object)[which]
    for i in np.flatnonzero(~fast & (plan > 0)).tolist():
        text[i] = format_pct(int(disbursed[i]), int(plan[i]))
    return text.tolist()


def trieu_float(dong: int) -> float:
    """đồng → triệu đồng as the nearest float, for writing Excel cells (never for decisions)."""
    return int(dong) / 1_000_000
