"""Put the investors' answered figures into a review as dated evidence.

Per line and field the latest reply wins (by received date, then by file name); the earlier
answer is noted, not lost (both stay in the audit store). An answered money figure replaces
the workbook's expected disbursement, completed volume, need or proposed decrease, and the
line's evidence names the reply (file, sheet, cell, received date) instead of the master
workbook's cell. Only replies to a request of the same plan year and round are applied.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from disbursement.config.issues import issue
from disbursement.errors import DisbursementError, Issue
from disbursement.investors.answers import Answer, Reply
from disbursement.investors.requests import line_tokens
from disbursement.investors.spec import MONEY_FIELDS
from disbursement.model import RoundInfo


class ReplyDateMissing(DisbursementError):
    """A reply to apply has no received date: it is never taken from the clock or the file."""


@dataclass
class Applied:
    """What the replies did to a review: the `replies` records of `--json` and their counts."""

    changes: list[dict[str, Any]] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    files: int = 0
    lines_answered: int = 0

    def summary(self) -> dict[str, int]:
        return {"files": self.files, "lines_answered": self.lines_answered, "changes": len(self.changes)}


def date_replies(
    replies: Sequence[Reply],
    received: dt.date | None,
    recorded: Callable[[str], dt.date | None] | None = None,
) -> None:
    """Give every applicable reply its received date: `--received`, else the date recorded in
    the audit store for that file's sha256; a reply with neither refuses the run."""
    missing = []
    for reply in replies:
        if received is not None:
            reply.received = received
        elif recorded is not None and reply.sha256:
            reply.received = recorded(reply.sha256)
        if reply.received is None and reply.applicable:
            missing.append(reply.name)
    if missing:
        raise ReplyDateMissing(
            f"no received date for the reply {', '.join(missing[:3])}"
            f"{' …' if len(missing) > 3 else ''}: pass --received DD/MM/YYYY (the date is never "
            "taken from the clock or the file), or record the replies first with "
            "`disbursement replies … --received`"
        )


def _order(reply: Reply) -> tuple[dt.date, str, str]:
    return (reply.received or dt.date.min, reply.name, reply.path)


def apply_replies(
    plan: pd.DataFrame, replies: Sequence[Reply], info: RoundInfo
) -> tuple[pd.DataFrame, Applied]:
    """The plan with the winning answers in place, an `evidence` column, and what changed."""
    applied = Applied()
    usable = []
    for reply in replies:
        applied.issues.extend(reply.issues)
        request = reply.request
        if not reply.applicable or request is None:
            continue
        if (request.year, request.round) != (info.year, info.number):
            applied.issues.append(
                issue(
                    "REPLY-OTHER-ROUND",
                    reply.path,
                    None,
                    None,
                    None,
                    f"the reply answers request {request.request_id} for {request.year}, round "
                    f"{request.round}, not this review ({info.year}, round {info.number}): not "
                    "applied",
                )
            )
            continue
        usable.append(reply)
    applied.files = len(usable)
    winners: dict[tuple[str, str], tuple[Reply, Answer]] = {}
    for reply in sorted(usable, key=_order):
        for answer in reply.answers:
            key = (answer.line.token, answer.field)
            if key in winners:
                earlier, _ = winners[key]
                applied.issues.append(
                    issue(
                        "REPLY-SUPERSEDED",
                        earlier.path,
                        answer.sheet,
                        None,
                        None,
                        f"{answer.field} of {answer.line.project_code or answer.line.project_name}"
                        f" answered again in {reply.name} (received {reply.received}): the later "
                        "answer is used",
                    )
                )
            winners[key] = (reply, answer)
    out = plan.copy()
    index_of = dict(zip(line_tokens(out), out.index, strict=True))
    for name in MONEY_FIELDS:
        if name not in out:
            out[name] = pd.array([pd.NA] * len(out), dtype="Int64")
    evidence: dict[Any, dict[str, Any]] = {}
    missing_lines: set[tuple[str, str]] = set()
    for (token, field_id), (reply, answer) in sorted(
        winners.items(), key=lambda kv: (_order(kv[1][0]), kv[1][1].row, kv[0][1])
    ):
        index = index_of.get(token)
        if index is None:
            if (reply.path, token) not in missing_lines:
                missing_lines.add((reply.path, token))
                applied.issues.append(
                    issue(
                        "REPLY-LINE-NOT-IN-PLAN",
                        reply.path,
                        answer.sheet,
                        answer.row,
                        None,
                        f"{answer.line.project_code or answer.line.project_name} "
                        f"({answer.line.capital_source}) is not a line of the reviewed workbook: "
                        "its answers are not used",
                    )
                )
            continue
        assert reply.request is not None and reply.received is not None
        entry = evidence.setdefault(
            index,
            {
                "investor": reply.request.investor,
                "file": reply.name,
                "sheet": answer.sheet,
                "received": reply.received.isoformat(),
                "request_id": reply.request.request_id,
                "cells": {},
            },
        )
        entry["cells"][field_id] = answer.cell
        if answer.text is not None:
            entry["explanation"] = answer.text
            continue
        if answer.dong is None:  # a money answer always has its figure (replies.py)
            continue
        was = out.at[index, field_id]
        was_dong = None if was is pd.NA or was is None else int(was)
        out.at[index, field_id] = answer.dong
        if was_dong != answer.dong:
            line = out.loc[index]
            applied.changes.append(
                {
                    "investor": reply.request.investor,
                    "file": reply.name,
                    "project_code": None if pd.isna(line["project_code"]) else str(line["project_code"]),
                    "capital_source": str(line["capital_source"]),
                    "field": field_id,
                    "was_dong": was_dong,
                    "now_dong": answer.dong,
                    "received": reply.received.isoformat(),
                }
            )
    applied.lines_answered = len(evidence)
    cells = out["cells"].tolist() if "cells" in out else [{} for _ in range(len(out))]
    shown = []
    for index, own in zip(out.index, cells, strict=True):
        given = evidence.get(index)
        shown.append(
            own if given is None else {k: v for k, v in (own or {}).items() if k not in given["cells"]}
        )
    out["cells"] = shown
    out["evidence"] = [evidence.get(i) for i in out.index]
    return out, applied
