"""`build_requests`: one request per investor over a round's lines in scope.

Every line in the round's scope goes to its investor, flagged ones marked with their reason.
A line with no investor cannot be asked of anyone: it is reported (REQUEST-NO-INVESTOR), never
sent to a guessed address.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from disbursement.audit.queries import line_key
from disbursement.config.issues import issue
from disbursement.errors import Issue
from disbursement.files import sha256_file
from disbursement.investors.spec import MONEY_FIELDS, Request, RequestLine, request_id_for, token_for
from disbursement.model import RunResult
from disbursement.render.records import flag_records
from disbursement.text import fold


def _text(value: Any) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    text = str(value).strip()
    return text or None


def _int(value: Any) -> int | None:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    return int(value)


def request_line(row: Any, token: str, reason: str | None = None) -> RequestLine:
    """A plan table row (from `itertuples`) as a request shows it; the figures the investor
    may answer are kept as they stood (None where the workbook has none)."""
    source = _text(row.capital_source) or "UNKNOWN"
    return RequestLine(
        token=token,
        project_code=_text(row.project_code),
        capital_source=source,
        capital_source_label=_text(row.capital_source_label) or source,
        project_name=_text(row.project_name) or "",
        plan_dong=int(row.plan_dong),
        disbursed_dong=int(row.disbursed_dong),
        flagged=bool(getattr(row, "flagged", False)),
        reason=reason,
        figures={f: _int(getattr(row, f, None)) for f in MONEY_FIELDS},
    )


def line_tokens(frame: pd.DataFrame) -> list[str]:
    """The token of every line of a plan table, in order; a key met twice gets "-2", "-3" …
    so two lines sharing an identity are still told apart (in workbook order)."""
    seen: Counter[str] = Counter()
    tokens = []
    for code, source, file, sheet, row, name, investor in zip(
        frame["project_code"].astype(object),
        frame["capital_source"].astype(object),
        frame["file"],
        frame["sheet"],
        frame["row"],
        frame["project_name"].astype(object),
        frame["investor"].astype(object) if "investor" in frame else [None] * len(frame),
        strict=True,
    ):
        token = token_for(
            line_key(code, source if _text(source) else "UNKNOWN", file, sheet, row, name, investor)
        )
        seen[token] += 1
        tokens.append(token if seen[token] == 1 else f"{token}-{seen[token]}")
    return tokens


def ascii_stem(name: str, limit: int = 60) -> str:
    """A file name an investor's mail system will not mangle: "UBND huyện Yên Châu" →
    "UBND_huyen_Yen_Chau"."""
    text = unicodedata.normalize("NFD", name.replace("đ", "d").replace("Đ", "D"))
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_")
    return text[:limit].rstrip("_") or "chu_dau_tu"


def build_requests(
    result: RunResult, *, deadline: dt.date | None, unit: str
) -> tuple[list[Request], list[Issue]]:
    """The requests of one round, one per investor (ordered by investor name), and the
    lines no request could carry."""
    plan = result.plan
    scope = plan[plan["in_scope"].to_numpy(dtype=bool)]
    tokens = dict(zip(plan.index, line_tokens(plan), strict=True))
    reasons = dict(zip(result.flags.index, (r["reason_text"] for r in flag_records(result)), strict=True))
    inputs = [sha256_file(p) for p in result.inputs if Path(p).is_file()]
    issues: list[Issue] = []
    groups: dict[str, list[tuple[str, RequestLine]]] = {}
    names: dict[str, str] = {}
    for index, line in zip(scope.index, scope.itertuples(index=False), strict=True):
        investor = _text(getattr(line, "investor", None))
        if investor is None:
            issues.append(
                issue(
                    "REQUEST-NO-INVESTOR",
                    str(line.file),
                    str(line.sheet),
                    int(line.row),
                    None,
                    "the line is in the round's scope but names no investor (chủ đầu tư): no "
                    "request can carry it; ask for its figures directly",
                )
            )
            continue
        key = fold(investor)
        names.setdefault(key, investor)
        groups.setdefault(key, []).append(
            (str(line.file), request_line(line, tokens[index], reasons.get(index)))
        )
    info = result.round
    requests: list[Request] = []
    used: set[str] = set()
    for key in sorted(groups, key=lambda k: (names[k].casefold(), k)):
        lines = tuple(x for _, x in groups[key])
        request_id = request_id_for(key, info.year, info.number, info.as_of, [x.token for x in lines], inputs)
        requests.append(
            Request(
                request_id,
                names[key],
                info.year,
                info.number,
                info.rule_id,
                info.as_of,
                deadline,
                unit,
                _unique(ascii_stem(names[key]), used) + ".xlsx",
                lines,
            )
        )
    return requests, issues


def _unique(stem: str, used: set[str]) -> str:
    candidate, n = stem, 1
    while candidate.casefold() in used:
        n += 1
        candidate = f"{stem}_{n}"
    used.add(candidate.casefold())
    return candidate


def request_summary(requests: Iterable[Request]) -> list[dict[str, Any]]:
    """What `requests --json` lists per file."""
    return [
        {
            "request_id": r.request_id,
            "investor": r.investor,
            "file": r.file_name,
            "lines": len(r.lines),
            "flagged": sum(x.flagged for x in r.lines),
        }
        for r in requests
    ]
