"""`requests` and `replies`: the investor round-trip (one library call each, investors.run)."""

from __future__ import annotations

import json

import click

from disbursement.cli.app import AUDIT_DB_HELP, _date, cli


def _audit(no_audit: bool, audit_db):
    from disbursement.session import audit_target

    return audit_target(audit_db, enabled=not no_audit)


def _money(dong) -> str:
    from disbursement.money import format_trieu

    return "—" if dong is None else format_trieu(int(dong))


@cli.command()
@click.argument("files", nargs=-1, type=click.Path())
@click.option("--round", "round_number", type=int, help="Round number (1, 2, 3 …).")
@click.option("--year", type=click.IntRange(2000, 2100), help="Plan year (default: the rules').")
@click.option("--rules", "rules_path", type=click.Path(dir_okay=False), help="Rules file.")
@click.option(
    "--unit",
    type=click.Choice(("dong", "nghin", "trieu", "ty")),
    help="Unit of the amounts when the sheet's unit line is missing or wrong.",
)
@click.option("--as-of", callback=_date, help="Data date, overriding the round's (DD/MM/YYYY).")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    help="Folder for one workbook per investor and the covering letter.",
)
@click.option("--deadline", callback=_date, help="Date the replies are due (DD/MM/YYYY).")
@click.option(
    "--date",
    "letter_date",
    callback=_date,
    help="Date printed on the letter (default: derived from the round, never the clock).",
)
@click.option(
    "--settings",
    "settings_path",
    type=click.Path(dir_okay=False),
    help="Organisation settings (default: rules/settings/son-la.yaml).",
)
@click.option(
    "--status",
    "status_dir",
    type=click.Path(file_okay=False, exists=True),
    help="Instead: the chase list for the requests written into this folder.",
)
@click.option(
    "--on", "on_date", callback=_date, help="With --status: mark requests past their deadline on this date."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.option("--no-audit", is_flag=True, help="Do not keep the requests in the audit store.")
@click.option("--audit-db", type=click.Path(dir_okay=False), metavar="PATH|URL", help=AUDIT_DB_HELP)
def requests(
    files,
    round_number,
    year,
    rules_path,
    unit,
    as_of,
    out_dir,
    deadline,
    letter_date,
    settings_path,
    status_dir,
    on_date,
    as_json,
    no_audit,
    audit_db,
):
    """Write one request workbook per investor for round N over FILES, and a covering letter."""
    from disbursement.investors.run import request_status, write_requests
    from disbursement.session import ReviewOptions

    target = _audit(no_audit, audit_db)
    if status_dir:
        data = request_status(status_dir, audit=target, on=on_date)
        if as_json:
            click.echo(json.dumps(data, ensure_ascii=False, indent=1))
            return
        for r in data["requests"]:
            state = (
                "đã trả lời đủ"
                if not r["lines_not_answered"]
                else f"chưa trả lời {r['lines_not_answered']}/{r['lines']} dòng"
            )
            late = " — QUÁ HẠN" if r["overdue"] else ""
            click.echo(
                f"{r['investor']}: {state}{late} (hạn {r['deadline'] or '—'}, "
                f"nhận {r['received'] or '—'}; tệp {r['file']})"
            )
            for item in r["not_answered"][:10]:
                click.echo(f"    - {item}")
        return
    if not files or round_number is None or not out_dir:
        raise click.UsageError("requests needs FILES, --round and --out (or --status DIR)")
    options = ReviewOptions(
        round=round_number,
        year=year,
        unit=unit,
        as_of=as_of,
        rules_path=rules_path,
        settings=settings_path,
        date=letter_date,
    )
    data = write_requests(files, options, out_dir=out_dir, deadline=deadline, audit=target)
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=1))
        return
    click.echo(
        f"Round {data['round']} ({data['rule_id']}), data as of {data['as_of']}: "
        f"{len(data['requests'])} investors"
    )
    for r in data["requests"]:
        click.echo(f"  {r['file']}: {r['investor']} — {r['lines']} lines, {r['flagged']} flagged")
    click.echo(f"  letter: {data['letter']}")
    for issue in data["issues"][:10]:
        click.echo(f"  {issue['severity']}: {issue['code']} {issue['message']}")


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option(
    "--received", callback=_date, help="Date the replies were received (DD/MM/YYYY); else the one recorded."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.option("--no-audit", is_flag=True, help="Only read and check; keep nothing.")
@click.option("--audit-db", type=click.Path(dir_okay=False), metavar="PATH|URL", help=AUDIT_DB_HELP)
@click.option("--by", help="Name recorded as who read the replies (default: the OS user).")
def replies(paths, received, as_json, no_audit, audit_db, by):
    """Read investors' returned request workbooks (files or folders) and keep their answers."""
    from disbursement.investors.run import read_and_record

    data = read_and_record(paths, received=received, audit=_audit(no_audit, audit_db), by=by)
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=1))
        return
    for r in data["replies"]:
        click.echo(
            f"{r['file']}: {r['investor'] or '?'} — {r['status']}, "
            f"{r['lines_answered']} lines answered, {r['lines_not_answered']} not "
            f"(received {r['received'] or '—'})"
        )
        for c in r["changes"]:
            click.echo(
                f"    {c['project_code'] or '—'} / {c['capital_source']} {c['field']}: "
                f"was {_money(c['was_dong'])}, now {_money(c['now_dong'])} triệu "
                f"({c['cell']})"
            )
        for issue in r["issues"]:
            where = f"{issue['sheet'] or ''}!{issue['column'] or ''}{issue['row'] or ''}"
            click.echo(f"    {issue['severity']}: {issue['code']} at {where}: {issue['message']}")
