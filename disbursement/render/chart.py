"""`bieu_do.png`: (a) disbursement rate of the lines in scope against the round's threshold,
(b) capital recalled, reallocated and left unallocated per capital source.

Deterministic: a bare `Figure` on the Agg canvas (no pyplot, no global backend switch), fixed
size and dpi, DejaVu Sans (ships with matplotlib, has the Vietnamese glyphs), and PNG metadata
without the "Software" entry, so the same input gives the same bytes. Wording comes from
`templates/<lang>/bieu_do.j2`.
"""

from __future__ import annotations

import io
import textwrap
from typing import Any

import jinja2
import numpy as np

from disbursement.model import RunResult
from disbursement.render.env import short_date

SIZE_IN = (7.0, 6.0)
DPI = 200
BAR_LIMIT = 200  # up to this many lines, one bar each; above it a filled step curve
RED, BLUE, GREEN, GREY = "#c0392b", "#2e6da4", "#3a8d4f", "#9a9a9a"


def _rates(result: RunResult) -> tuple[np.ndarray, np.ndarray]:
    """Rates (%, for display only) of in-scope lines with a plan, sorted; and their flags."""
    plan = result.plan
    if plan is None or len(plan) == 0:
        return np.zeros(0), np.zeros(0, dtype=bool)
    mask = plan["in_scope"].to_numpy(dtype=bool) & (plan["plan_dong"].to_numpy() > 0)
    planned = plan["plan_dong"].to_numpy(dtype="int64")[mask]
    disbursed = plan["disbursed_dong"].to_numpy(dtype="int64")[mask]
    if "flagged" in plan.columns:
        flagged = plan["flagged"].to_numpy(dtype=bool)[mask]
    else:
        flagged = np.zeros(len(planned), dtype=bool)
    rates = disbursed.astype(float) / planned.astype(float) * 100.0
    order = np.lexsort((~flagged, rates))  # by rate, flagged first on ties
    return rates[order], flagged[order]


def _money(result: RunResult) -> list[tuple[str, int, int, int]]:
    proposal = result.proposal
    if proposal is None:
        return []
    by_source: dict[str, list] = {}
    for pool in proposal.pools:
        entry = by_source.setdefault(pool.capital_source, [pool.capital_source_label, 0, 0, 0])
        entry[1] += pool.recalled_dong
        entry[2] += pool.allocated_dong
        entry[3] += pool.unallocated_dong
    return [tuple(entry) for entry in by_source.values() if entry[1] or entry[2]]


def render_chart(result: RunResult, env: jinja2.Environment, lang: str) -> bytes:
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from disbursement.render.env import number_filters

    rates, flagged = _rates(result)
    rnd = result.round
    words = env.get_template(f"{lang}/bieu_do.j2").make_module(
        vars={
            "round": {"as_of_text": short_date(rnd.as_of), "name": rnd.name},
            "n_lines": len(rates),
            "threshold_pct": rnd.threshold_pct,
        }
    )
    trieu = number_filters(lang)["trieu"]
    style: Any = {  # matplotlib types rc keys as literals
        "font.family": "DejaVu Sans",
        "font.size": 9,
        "axes.titlesize": 10,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "svg.hashsalt": "disbursement",
    }
    with rc_context(style):
        fig = Figure(figsize=SIZE_IN, dpi=DPI, layout="constrained")
        FigureCanvasAgg(fig)
        top, bottom = fig.subplots(2, 1, height_ratios=(1.1, 1.0))
        _rate_panel(top, rates, flagged, rnd.threshold_pct, words)
        _money_panel(bottom, _money(result), words, trieu)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def _rate_panel(ax, rates, flagged, threshold, words) -> None:
    ax.set_title(words.rate_title)
    ax.set_ylabel(words.rate_ylabel)
    ax.set_xlabel(words.rate_xlabel)
    if len(rates) == 0:
        ax.text(0.5, 0.5, words.no_lines, ha="center", va="center", transform=ax.transAxes)
        ax.set_xticks([])
        return
    x = np.arange(len(rates))
    if len(rates) <= BAR_LIMIT:
        colors = np.where(flagged, RED, BLUE)
        ax.bar(x, rates, width=0.8, color=colors, linewidth=0)
        ax.bar([0], [0], color=RED, label=words.below_label)
        ax.bar([0], [0], color=BLUE, label=words.above_label)
    else:
        ax.fill_between(x, rates, where=flagged, step="mid", color=RED, linewidth=0, label=words.below_label)
        ax.fill_between(
            x, rates, where=~flagged, step="mid", color=BLUE, linewidth=0, label=words.above_label
        )
    if threshold is not None:
        ax.axhline(threshold, color="black", linestyle="--", linewidth=1, label=words.threshold_label)
    ax.set_xlim(-1, len(rates))
    ax.set_ylim(0, max(100.0, float(rates.max())) * 1.05)
    ax.set_xticks([])
    ax.legend(loc="upper left", frameon=False, fontsize=8)


def _money_panel(ax, rows, words, trieu) -> None:
    from matplotlib.ticker import FuncFormatter

    ax.set_title(words.money_title)
    if not rows:
        ax.text(0.5, 0.5, words.no_proposal, ha="center", va="center", transform=ax.transAxes)
        ax.set_xticks([])
        ax.set_yticks([])
        return
    labels = ["\n".join(textwrap.wrap(str(label), 24)) or "?" for label, *_ in rows]
    y = np.arange(len(rows))[::-1].astype(float)
    height = 0.26
    series = (
        (words.recalled_label, RED, [r[1] for r in rows], height),
        (words.allocated_label, GREEN, [r[2] for r in rows], 0.0),
        (words.unallocated_label, GREY, [r[3] for r in rows], -height),
    )
    top = max(max(r[1], r[2], r[3]) for r in rows) / 1e6
    for label, color, values, offset in series:
        if label == words.unallocated_label and not any(values):
            continue
        million = np.array(values, dtype=float) / 1e6
        ax.barh(y + offset, million, height=height, color=color, label=label)
        for yy, value, dong in zip(y + offset, million, values, strict=True):
            if dong:
                ax.text(value + top * 0.01, yy, trieu(dong), va="center", fontsize=7)
    ax.set_yticks(y, labels)
    ax.set_xlim(0, top * 1.25 if top else 1)
    ax.set_xlabel(words.money_xlabel)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: trieu(round(v * 1e6), 0)))
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3, frameon=False, fontsize=8)
