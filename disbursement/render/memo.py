"""The memo (Tờ trình): context from the run, blocks from the wording templates, html and md.

The wording lives in `templates/<lang>/to_trinh.j2`. That template does not print text; it
*lays out blocks* by calling a few functions the renderer hands it:

- `p(text, **style)` or `{% call p(**style) %}long text{% endcall %}`: a paragraph. Line breaks
  and indentation inside the text are collapsed. Style flags: `bold`, `italic`, `align`
  (justify|center|left|right), `size` (pt), `indent` (first-line indent), `before`/`after`
  (spacing in pt), `keep_next`.
- `columns(70, 95)` … `next_column()` … `end_columns()`: a borderless side-by-side block (the
  header, the recipients beside the signature). Widths in mm.
- `rule(width_mm)`: a short centred line under the previous paragraph (Decree 30).
- `image("bieu_do", width_mm)`: the chart.

The same block list then becomes the .docx (`render.docx`), the .html (`to_trinh.html.j2`,
autoescaped) and the .md (`to_trinh.md.j2`), so the three always say the same thing.
"""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import jinja2

from disbursement.config.settings import Settings
from disbursement.errors import OutputError
from disbursement.model import Proposal, RunResult
from disbursement.render.env import number_filters, short_date, squash
from disbursement.text import fold

ALIGNS = ("justify", "center", "left", "right")


@dataclass(slots=True)
class Para:
    text: str
    bold: bool = False
    italic: bool = False
    align: str = "justify"
    size: float | None = None
    indent: bool = True
    before: float | None = None
    after: float | None = None
    keep_next: bool = False
    kind: str = "p"


@dataclass(slots=True)
class Rule:
    width_mm: float
    kind: str = "rule"


@dataclass(slots=True)
class Image:
    name: str
    width_mm: float
    kind: str = "image"


@dataclass(slots=True)
class Columns:
    widths_mm: tuple[float, ...]
    cells: list[list] = field(default_factory=list)
    kind: str = "columns"


class BlockCollector:
    """Receives the template's layout calls; `blocks` is the memo as a list of blocks."""

    def __init__(self) -> None:
        self.blocks: list = []
        self._columns: Columns | None = None

    def _target(self) -> list:
        return self._columns.cells[-1] if self._columns is not None else self.blocks

    def p(self, text=None, *, caller=None, align="justify", **style) -> str:
        if align not in ALIGNS:
            raise OutputError(f"memo template: unknown align {align!r} (use one of {ALIGNS})")
        body = caller() if caller is not None else text
        if body is None:
            raise OutputError("memo template: p() needs a text or a call block")
        self._target().append(Para(squash(body), align=align, **style))
        return ""

    def rule(self, width_mm: float = 40) -> str:
        self._target().append(Rule(float(width_mm)))
        return ""

    def image(self, name: str, width_mm: float = 160) -> str:
        self._target().append(Image(str(name), float(width_mm)))
        return ""

    def columns(self, *widths_mm: float) -> str:
        if self._columns is not None:
            raise OutputError("memo template: columns() inside columns()")
        self._columns = Columns(tuple(float(w) for w in widths_mm), [[]])
        self.blocks.append(self._columns)
        return ""

    def next_column(self) -> str:
        if self._columns is None or len(self._columns.cells) >= len(self._columns.widths_mm):
            raise OutputError("memo template: next_column() without a free column")
        self._columns.cells.append([])
        return ""

    def end_columns(self) -> str:
        if self._columns is None:
            raise OutputError("memo template: end_columns() without columns()")
        while len(self._columns.cells) < len(self._columns.widths_mm):
            self._columns.cells.append([])
        self._columns = None
        return ""

    def functions(self) -> dict:
        return {
            "p": self.p,
            "rule": self.rule,
            "image": self.image,
            "columns": self.columns,
            "next_column": self.next_column,
            "end_columns": self.end_columns,
        }


def default_memo_date(result: RunResult, settings: Settings) -> dt.date:
    """The round's as-of date plus `memo_days_after_as_of` (5 in the shipped settings)."""
    return result.round.as_of + dt.timedelta(days=settings.memo_days_after_as_of)


def _project_key(line) -> str:
    return line.project_code or f"{line.project_name}\x00{line.investor or ''}"


def proposal_context(proposal: Proposal | None) -> dict | None:
    """Per capital source (pools merged, order of first appearance) and in total."""
    if proposal is None:
        return None
    sources: dict[str, dict] = {}
    for pool in proposal.pools:
        entry = sources.setdefault(
            pool.capital_source,
            {
                "capital_source": pool.capital_source,
                "label": pool.capital_source_label,
                "recalled_dong": 0,
                "allocated_dong": 0,
                "unallocated_dong": 0,
                "decreases": set(),
                "increases": set(),
            },
        )
        entry["recalled_dong"] += pool.recalled_dong
        entry["allocated_dong"] += pool.allocated_dong
        entry["unallocated_dong"] += pool.unallocated_dong
    for kind, lines in (("decreases", proposal.decreases), ("increases", proposal.increases)):
        for line in lines:
            if line.capital_source not in sources:
                raise OutputError(
                    f"proposal line {line.project_name!r} names capital source "
                    f"{line.capital_source!r} that has no pool"
                )
            sources[line.capital_source][kind].add(_project_key(line))
    out = []
    for entry in sources.values():
        entry["n_decreases"] = len(entry.pop("decreases"))
        entry["n_increases"] = len(entry.pop("increases"))
        out.append(entry)
    total = {
        key: sum(entry[key] for entry in out)
        for key in ("recalled_dong", "allocated_dong", "unallocated_dong")
    }
    total["n_decreases"] = len({_project_key(line) for line in proposal.decreases})
    total["n_increases"] = len({_project_key(line) for line in proposal.increases})
    return {"sources": out, "total": total}


def priority_context(policy: dict, lang: str) -> dict | None:
    """`policy["priority"]`: {id, title, legal_basis, tiers: [{id, label_vi, label_en}]}.

    `tiers` is optional (the memo then cites the list by title and legal basis only).
    """
    priority = (policy or {}).get("priority")
    if not priority:
        return None
    try:
        tiers = [
            {
                "id": tier.get("id"),
                "label": tier.get(f"label_{lang}") or tier.get("label_vi") or tier["label"],
            }
            for tier in priority.get("tiers") or ()
        ]
        title = priority.get(f"title_{lang}") or priority["title"]
        basis = priority.get(f"legal_basis_{lang}") or priority["legal_basis"]
        return {
            "id": priority.get("id", ""),
            "title": title,
            "legal_basis": basis,
            # the title already names the basis's law ("… theo Điều 51 Luật … số 39/2019/QH14")
            "basis_in_title": fold(str(basis).split(",")[0]) in fold(str(title)),
            "tiers": tiers,
        }
    except (KeyError, TypeError, AttributeError) as exc:
        raise OutputError(
            f"proposal.policy['priority'] lacks {exc}: expected title, legal_basis and "
            "optionally tiers with label_vi/label_en"
        ) from None


def summary_context(summary: dict) -> dict:
    """The parts of `RunResult.summary` (review.summarise) the memo cites, checked."""
    needed = ("plan_dong", "disbursed_dong", "in_scope", "flagged", "flagged_plan_dong")
    try:
        out: dict[str, Any] = {key: int(summary[key]) for key in needed}
        out["by_capital_source"] = [
            {
                "label": entry["label"],
                "plan_dong": int(entry["plan_dong"]),
                "disbursed_dong": int(entry["disbursed_dong"]),
                "in_scope": int(entry["in_scope"]),
                "flagged": int(entry["flagged"]),
            }
            for entry in summary["by_capital_source"]
        ]
    except (KeyError, TypeError) as exc:
        raise OutputError(f"run summary lacks {exc} (see review.summarise)") from None
    return out


def build_context(result: RunResult, settings: Settings, lang: str, date: dt.date) -> dict:
    """Everything the wording templates may cite, as plain values."""
    rnd = result.round
    proposal = result.proposal
    policy = proposal.policy if proposal is not None else {}
    recall = (policy or {}).get("recall") or {}
    return {
        "lang": lang,
        "s": settings.for_lang(lang),
        "date": date,
        "date_text": short_date(date),
        "round": {
            "rule_id": rnd.rule_id,
            "number": rnd.number,
            "name": rnd.name,
            "year": rnd.year,
            "as_of": rnd.as_of,
            "as_of_text": short_date(rnd.as_of),
            "round_as_of_text": short_date(rnd.round_as_of) if rnd.round_as_of else None,
            "description": rnd.description,
            "legal_basis": rnd.legal_basis,
            "threshold_pct": rnd.threshold_pct,
            "scope": rnd.scope,
        },
        "summary": summary_context(result.summary),
        "proposal": proposal_context(proposal),
        "priority": priority_context(policy, lang),
        "recall_policy": recall.get("policy") if isinstance(recall, dict) else None,
        "replies": replies_context(result),
        "decisions": list((result.summary.get("lifecycle") or {}).get("decision_texts") or ()),
        "lifecycle": lifecycle_context(result.summary),
        "unrecalled": unrecalled_context(result),
        "excluded": len(_rows_of(result, EXCLUDING_CODES)),
        "approved_differs": len(_rows_of(result, ("PLAN-DIFFERS-FROM-APPROVED",))),
    }


# Data issues that keep a line out of the review (the line is not in the totals).
EXCLUDING_CODES = (
    "AMOUNT-UNREADABLE",
    "CHECK-NAME-PRESENT",
    "CHECK-PLAN-NOT-NEGATIVE",
    "CHECK-DISBURSED-NOT-NEGATIVE",
)


def _rows_of(result: RunResult, codes: tuple[str, ...]) -> set[tuple[str, str, int]]:
    """The distinct located rows that issues of `codes` name."""
    return {(x.file, x.sheet or "", x.row) for x in result.issues if x.code in codes and x.row is not None}


# Flagged lines the proposal recalls nothing from: the notes that say why (reallocate.proposal).
UNRECALLED_CODES = ("RECALL-DROPPED", "RECALL-SOURCE-UNKNOWN")


def unrecalled_context(result: RunResult) -> dict | None:
    """Flagged lines that recall nothing, grouped by why: {count, groups: [{count, dropped,
    basis}]} in order of size (the wording is `dropped_reason` in templates/_issues.j2)."""
    if result.proposal is None:
        return None
    groups: dict[tuple[str, str], int] = {}
    for x in result.issues:
        if x.code in UNRECALLED_CODES:
            params = x.params or {}
            key = (str(params.get("dropped", "source_unknown")), str(params.get("basis", "")))
            groups[key] = groups.get(key, 0) + 1
    ordered = sorted(groups.items(), key=lambda kv: (-kv[1], kv[0]))
    return {
        "count": sum(groups.values()),
        "groups": [{"count": n, "dropped": d, "basis": b} for (d, b), n in ordered],
    }


def lifecycle_context(summary: dict) -> dict | None:
    """Against the previous round of the year, when the audit store knows one."""
    block = summary.get("lifecycle") or {}
    if not block.get("previous_run"):
        return None
    return {
        "previous_round": block.get("previous_round"),
        "new": int(block.get("new", 0)),
        "persisting": int(block.get("persisting", 0)),
        "cleared": len(block.get("cleared") or ()),
    }


def replies_context(result: RunResult) -> dict | None:
    """Who replied (investor, latest received date), out of how many asked; None without
    --replies. Made from the replies the review used, so the memo matches `summary.replies`."""
    if result.replies is None:
        return None
    latest: dict[str, dt.date] = {}
    for reply in result.reply_files:
        request = reply.request
        if request is None or not reply.applicable or reply.received is None:
            continue
        if request.investor not in latest or reply.received > latest[request.investor]:
            latest[request.investor] = reply.received
    plan = result.plan
    scoped = plan[plan["in_scope"].to_numpy(dtype=bool)] if "in_scope" in plan else plan
    asked = int(scoped["investor"].dropna().nunique()) if "investor" in scoped else len(latest)
    summary = result.summary.get("replies", {})
    return {
        "investors": [{"investor": k, "received": latest[k]} for k in sorted(latest)],
        "asked": asked,
        "lines_answered": summary.get("lines_answered", 0),
        "changes": summary.get("changes", 0),
    }


def render_blocks(env: jinja2.Environment, context: dict) -> tuple[list, dict]:
    """Run `<lang>/to_trinh.j2`; return the blocks and its exported names (`title`, …)."""
    collector = BlockCollector()
    template = env.get_template(f"{context['lang']}/to_trinh.j2")
    values = {**context, **collector.functions(), **number_filters(context["lang"])}
    module = template.make_module(vars=values)
    if collector._columns is not None:
        raise OutputError("memo template: columns() without end_columns()")
    exported = {name: getattr(module, name) for name in dir(module) if not name.startswith("_")}
    return collector.blocks, exported


def render_html(env, blocks, meta: dict, context: dict, png: bytes) -> str:
    uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    return env.get_template("to_trinh.html.j2").render(
        blocks=blocks, meta=meta, lang=context["lang"], images={"bieu_do": uri}
    )


def render_md(env, blocks, meta: dict, context: dict, image_name: str) -> str:
    return env.get_template("to_trinh.md.j2").render(
        blocks=blocks, meta=meta, lang=context["lang"], images={"bieu_do": image_name}
    )
