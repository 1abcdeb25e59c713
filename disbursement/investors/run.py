"""The library calls behind `requests` and `replies` (the CLI only parses and prints).

>>> from disbursement.investors.run import write_requests
>>> written = write_requests(["plan.xlsx"], ReviewOptions(round=3), out_dir="yeu_cau")
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from disbursement.errors import DisbursementError, NothingToReview
from disbursement.files import confined, normalise_zip
from disbursement.investors.answers import Reply
from disbursement.investors.apply import date_replies
from disbursement.investors.replies import read_replies
from disbursement.investors.requests import build_requests, request_summary
from disbursement.investors.spec import Request, load_spec
from disbursement.investors.workbook import answer_headers, write_request
from disbursement.pipeline import run_round
from disbursement.session import AuditTarget, ReviewOptions

LETTER_NAME = "cong_van_yeu_cau.docx"
UNIT_TEXT = {"dong": "đồng", "nghin": "nghìn đồng", "trieu": "triệu đồng", "ty": "tỷ đồng"}


def write_requests(
    paths: Sequence[str | Path],
    options: ReviewOptions,
    *,
    out_dir: str | Path,
    deadline: dt.date | None = None,
    audit: AuditTarget | None = None,
    by: str | None = None,
) -> dict[str, Any]:
    """One request workbook per investor over round `options.round`'s lines in scope, and the
    covering letter; all files or none (written in a staging folder, then moved in)."""
    spec = load_spec()
    result = run_round(
        list(paths),
        options.round,
        year=options.year,
        rules_path=options.rules_path,
        as_of=options.as_of,
        unit=options.unit,
        propose=False,
    )
    requests, issues = build_requests(result, deadline=deadline, unit=spec.unit)
    if not requests:
        raise NothingToReview(
            "no line in the round's scope names an investor (chủ đầu tư): no request written"
        )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".requests-", dir=out))
    try:
        for request in requests:
            write_request(request, spec, staging / request.file_name)
        _write_letter(result, requests, spec, staging / LETTER_NAME, options)
        written = {}
        for item in sorted(staging.iterdir()):
            target = confined(out, item.name)
            item.replace(target)
            written[item.name] = target
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if audit is not None and audit.store is not None:
        from disbursement.audit.replies import record_requests

        record_requests(audit.store, requests, by=by)
    return {
        "round": result.round.number,
        "rule_id": result.round.rule_id,
        "year": result.round.year,
        "as_of": result.round.as_of.isoformat(),
        "deadline": deadline.isoformat() if deadline else None,
        "requests": request_summary(requests),
        "letter": str(written[LETTER_NAME]),
        "files": {k: str(v) for k, v in written.items()},
        "issues": [i.to_dict() for i in [*result.issues, *issues] if i.severity in ("error", "warning")],
    }


def _write_letter(result, requests: list[Request], spec, path: Path, options: ReviewOptions) -> None:
    from disbursement.config.settings import load_settings
    from disbursement.render.docx import write_docx
    from disbursement.render.env import environment, number_filters
    from disbursement.render.memo import BlockCollector, build_context, default_memo_date

    settings = load_settings(options.settings, year=result.round.year)
    date = options.date or default_memo_date(result, settings)
    context = build_context(result, settings, "vi", date)
    first = requests[0]
    context.update(
        deadline_text=(first.deadline.strftime("%d/%m/%Y") if first.deadline else spec.texts["no_deadline"]),
        requests=[
            {
                "investor": r.investor,
                "file": r.file_name,
                "lines": len(r.lines),
                "flagged": sum(x.flagged for x in r.lines),
            }
            for r in requests
        ],
        unit_text=UNIT_TEXT[spec.unit],
        answer_headers=answer_headers(first, spec),
    )
    collector = BlockCollector()
    env = environment(options.templates_dir)
    template = env.get_template("vi/cong_van_yeu_cau.j2")
    module = template.make_module(vars={**context, **collector.functions(), **number_filters("vi")})
    title = str(module.title)  # type: ignore[attr-defined]
    author = settings.for_lang("vi")["issuer"]["name"]
    write_docx(collector.blocks, path, title=title, author=author, date=date, lang="vi", images={})
    normalise_zip(path)


def read_and_record(
    paths: Sequence[str | Path], *, received: dt.date | None, audit: AuditTarget, by: str | None = None
) -> dict[str, Any]:
    """`disbursement replies`: read, match, validate and (with a store) keep each reply."""
    spec = load_spec()
    if audit.store is not None:
        from disbursement.audit.replies import record_replies, view
        from disbursement.audit.store import connect

        with view(audit.store) as store:
            replies = read_replies(paths, spec, lookup=store.request)
            date_replies(replies, received, store.received)
        with connect(audit.store, create=True) as conn:
            statuses = record_replies(conn, replies, by=by)
    else:
        replies = read_replies(paths, spec)
        date_replies(replies, received)
        statuses = [{"file": r.name, "status": "read" if r.applicable else "not applied"} for r in replies]
    if not replies:
        raise DisbursementError(f"no reply workbook (.xlsx) found in {', '.join(map(str, paths))}")
    return {"replies": [_reply_report(r, s) for r, s in zip(replies, statuses, strict=True)]}


def _reply_report(reply: Reply, status: dict[str, Any]) -> dict[str, Any]:
    request = reply.request
    changes = [
        {
            "project_code": a.line.project_code,
            "capital_source": a.line.capital_source,
            "field": a.field,
            "was_dong": a.line.figures.get(a.field),
            "now_dong": a.dong,
            "cell": a.cell,
        }
        for a in reply.answers
        if a.dong is not None and a.dong != a.line.figures.get(a.field)
    ]
    return {
        "file": reply.name,
        "path": reply.path,
        "sha256": reply.sha256,
        "request_id": request.request_id if request else None,
        "investor": reply.investor,
        "status": status["status"],
        "received": reply.received.isoformat() if reply.received else None,
        "applicable": reply.applicable,
        "lines_answered": reply.lines_answered,
        "lines_not_answered": len(reply.unanswered),
        "not_answered": [x.project_code or x.project_name for x in reply.unanswered],
        "changes": changes,
        "issues": [i.to_dict() for i in reply.issues],
    }


def request_status(folder: str | Path, *, audit: AuditTarget, on: dt.date | None = None) -> dict[str, Any]:
    """The chase list: per request written into `folder`, who has answered which lines."""
    from openpyxl import load_workbook

    from disbursement.investors.replies import embedded_request

    requests = []
    for path in sorted(Path(folder).glob("*.xlsx")):
        try:
            book = load_workbook(path, read_only=False)
        except Exception:
            continue
        request, _ = embedded_request(book, str(path))
        book.close()
        if request is not None:
            requests.append(request)
    if not requests:
        raise DisbursementError(f"{folder}: no request workbook written by `disbursement requests` found")
    answered: dict[str, dict[str, Any]] = {}
    if audit.store is not None:
        from disbursement.audit.store import connect

        with connect(audit.store) as conn:
            for row in conn.rows(
                "SELECT p.request_id, p.received, a.token FROM replies p "
                "JOIN reply_answers a ON a.reply_seq = p.seq"
            ):
                entry = answered.setdefault(row["request_id"], {"tokens": set(), "received": []})
                entry["tokens"].add(row["token"])
                entry["received"].append(row["received"])
    out = []
    for r in requests:
        entry = answered.get(r.request_id, {"tokens": set(), "received": []})
        missing = [x for x in r.lines if x.token not in entry["tokens"]]
        overdue = bool(on and r.deadline and on > r.deadline and missing)
        out.append(
            {
                "investor": r.investor,
                "file": r.file_name,
                "request_id": r.request_id,
                "deadline": r.deadline.isoformat() if r.deadline else None,
                "received": max(entry["received"]) if entry["received"] else None,
                "lines": len(r.lines),
                "lines_not_answered": len(missing),
                "not_answered": [x.project_code or x.project_name for x in missing],
                "overdue": overdue,
            }
        )
    return {"on": on.isoformat() if on else None, "requests": out}
