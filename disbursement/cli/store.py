"""`audit verify | copy | replay` and `decide`: keeping the audit store whole, and recording
the decision that approved a run (the queries are in `cli/audit.py`)."""

from __future__ import annotations

import json

import click

from disbursement.cli.app import AUDIT_DB_HELP, cli
from disbursement.cli.audit import audit_group


@audit_group.command("verify")
@click.option("--audit-db", type=click.Path(dir_okay=False), metavar="PATH|URL", help=AUDIT_DB_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def audit_verify(audit_db, as_json):
    """Recompute the hash chain and check the stored input copies (exit 1 if broken)."""
    from disbursement.audit.chain import verify

    report = verify(audit_db)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=1))
    elif report["ok"]:
        click.echo(f"Audit store OK: {report['records']} records; chain head {report['head']}")
    else:
        broken = report["first_broken"]
        if broken:
            click.echo(
                f"Chain broken at {broken['kind']} {broken['id']} (record {broken['seq']}): "
                f"{broken['reason']}"
            )
        for problem in report["files"]:
            click.echo(f"Stored file problem: {problem['problem']}")
        if report["integrity"] != "ok":
            click.echo(f"SQLite integrity check: {report['integrity']}")
    if not report["ok"]:
        raise click.exceptions.Exit(1)


@audit_group.command("copy")
@click.option("--from", "source", required=True, help="The store to copy (a file path or postgresql://…).")
@click.option(
    "--to", "target", required=True, help="An empty store to copy into (created if it is a new SQLite file)."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def audit_copy(source, target, as_json):
    """Copy a whole store (SQLite ↔ PostgreSQL), verifying the chain on both sides."""
    from disbursement.audit.copy import copy_store

    report = copy_store(source, target)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=1))
    else:
        click.echo(
            f"Copied {report['records']} records and {report['files']} stored files from "
            f"{report['from']} to {report['to']}; both verify, chain head {report['head']}"
        )


@audit_group.command("replay")
@click.argument("run")
@click.option("--audit-db", type=click.Path(dir_okay=False), metavar="PATH|URL", help=AUDIT_DB_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def audit_replay(run, audit_db, as_json):
    """Re-run RUN from its stored inputs and rules; check each output is byte-identical."""
    from disbursement.audit.replay import replay

    report = replay(audit_db, run)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=1))
    else:
        versions = report["engine_version"]
        click.echo(
            f"Replay of run {report['run_id']} (recorded with engine "
            f"{versions['recorded']}, replayed with {versions['current']})"
        )
        if not report["files"]:
            click.echo("  no output files were recorded (the review ran without --out)")
        for item in report["files"]:
            click.echo(f"  {item['status']:<9} {item['name']}")
        records = report["records"]
        counts = ", ".join(f"{n} {k}" for k, n in records["counts"].items())
        detail = "".join(f"; {name} {why}" for name, why in records["different"].items())
        click.echo(f"  {records['status']:<9} records: {counts}{detail}")
    if not report["ok"]:
        raise click.exceptions.Exit(1)


@cli.command()
@click.argument("run")
@click.option(
    "--decision", required=True, help='The decision, e.g. "Quyết định số 123/QĐ-UBND ngày 15/7/2022".'
)
@click.option(
    "--approved",
    type=click.Path(exists=True, dir_okay=False),
    help="xlsx/csv of approved figures (Mã dự án, Nguồn vốn, Kế hoạch sau điều "
    "chỉnh); without it the run's proposal is approved as it is.",
)
@click.option("--by", "recorded_by", help="Who records the decision (default: the OS user).")
@click.option("--audit-db", type=click.Path(dir_okay=False), metavar="PATH|URL", help=AUDIT_DB_HELP)
def decide(run, decision, approved, recorded_by, audit_db):
    """Record the decision that approved RUN's proposal; the next review checks against it."""
    from disbursement.audit.decisions import decide as record_decision

    done = record_decision(audit_db, run, decision, approved=approved, recorded_by=recorded_by)
    click.echo(
        f"Recorded decision {done['decision_id']} for run {done['run_id']}: "
        f"{done['lines']} approved lines ({done['basis']})"
    )
