"""`answered_plan`: the replies a review was given, read, dated and put into its plan.

Used by `pipeline.run_round` between validation and the round's criterion, so the flags are
decided on the answered figures. Where a reply's request is known neither from its hidden
sheet nor from the audit store, its lines are matched against the plan being reviewed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from disbursement.audit.location import Location
from disbursement.investors.answers import Reply
from disbursement.investors.apply import Applied, apply_replies, date_replies
from disbursement.investors.replies import read_replies
from disbursement.investors.requests import line_tokens, request_line
from disbursement.investors.spec import Request, load_spec
from disbursement.model import RoundInfo
from disbursement.text import fold


@dataclass(frozen=True)
class ReplySource:
    """Where a review's replies come from: folders or files, their received date, the store."""

    paths: tuple[str, ...] = ()
    received: dt.date | None = None
    store: Location | None = None
    use_recorded: bool = False

    def __bool__(self) -> bool:
        return bool(self.paths) or self.use_recorded


def plan_request(plan: pd.DataFrame, info: RoundInfo, investor: str | None) -> Request | None:
    """A request made from the reviewed plan's own lines of one investor (keys lost)."""
    tokens = line_tokens(plan)
    wanted = fold(investor or "")
    investors = plan["investor"].astype(object).tolist() if "investor" in plan else [None] * len(plan)
    lines = [
        request_line(row, token)
        for token, row, who in zip(tokens, plan.itertuples(index=False), investors, strict=True)
        if not wanted or fold(who if isinstance(who, str) else "") == wanted
    ]
    if not lines:
        return None
    return Request(
        "",
        investor or "",
        info.year,
        info.number,
        info.rule_id,
        info.as_of,
        None,
        load_spec().unit,
        "",
        tuple(lines),
    )


def answered_plan(
    plan: pd.DataFrame, info: RoundInfo, source: ReplySource
) -> tuple[pd.DataFrame, Applied, list[Reply]]:
    spec = load_spec()
    replies: list[Reply] = []
    if source.store is not None:
        from disbursement.audit.replies import StoreView, recorded_replies, view

        with view(source.store) as store:
            replies = read_replies(
                source.paths, spec, lookup=store.request, fallback=lambda who: plan_request(plan, info, who)
            )
            date_replies(replies, source.received, store.received)
            if source.use_recorded and isinstance(store, StoreView):
                given = {r.sha256 for r in replies}
                replies += [r for r in recorded_replies(store.conn, info.year) if r.sha256 not in given]
    else:
        replies = read_replies(source.paths, spec, fallback=lambda who: plan_request(plan, info, who))
        date_replies(replies, source.received)
    answered, applied = apply_replies(plan, replies, info)
    return answered, applied, replies
