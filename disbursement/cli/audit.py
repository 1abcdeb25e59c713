"""`audit runs | show | project | flagged | diff`: questions asked of the audit store."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click

from disbursement.cli.app import AUDIT_DB_HELP, cli

# ---- audit store: recording happens in `review`; these commands query, verify, replay ------


def audit_options(f):
    """--audit-db, and --json / --xlsx FILE for the query commands."""
    f = click.option(
        "--xlsx",
        "xlsx_path",
        type=click.Path(dir_okay=False),
        help="Also write the table to this .xlsx file (atomically).",
    )(f)
    f = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")(f)
    return click.option(
        "--audit-db", type=click.Path(dir_okay=False), metavar="PATH|URL", help=AUDIT_DB_HELP
    )(f)


def _emit(
    data,
    title: str,
    headers: list[str],
    rows: list[list],
    money: set[int],
    as_json: bool,
    xlsx_path: str | None,
) -> None:
    if xlsx_path:
        from pathlib import Path

        from disbursement.render.tables import write_table_xlsx

        dates = [
            str(v)[:10]
            for r in rows
            for v in r
            if isinstance(v, str) and len(v) >= 10 and v[4] == "-" and v[7] == "-" and v[:4].isdigit()
        ]
        created = dt.date.fromisoformat(max(dates)) if dates else dt.date(2000, 1, 1)
        write_table_xlsx(
            Path(xlsx_path),
            title,
            "Sổ kiểm toán (audit store) của disbursement",
            headers,
            rows,
            money,
            created,
        )
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=1))
        return
    from disbursement.money import format_trieu

    shown = [
        [
            format_trieu(v) if i in money and isinstance(v, int) else "" if v is None else str(v)
            for i, v in enumerate(r)
        ]
        for r in rows
    ]
    widths = [max([len(h)] + [len(r[i]) for r in shown]) for i, h in enumerate(headers)]
    click.echo(title)
    for r in [headers, *shown]:
        click.echo(
            "  ".join(
                v.rjust(w) if i in money else v.ljust(w)
                for i, (v, w) in enumerate(zip(r, widths, strict=True))
            ).rstrip()
        )
    if xlsx_path:
        click.echo(f"wrote {xlsx_path}")


def _where(source: dict) -> str:

    return f"{Path(source['file']).name} / {source['sheet']} / {source['row']}"


@cli.group("audit")
def audit_group():
    """Query, verify and replay the audit store that `review` records every run in."""


@audit_group.command("runs")
@audit_options
@click.option("--year", type=int, help="Only runs of this plan year.")
def audit_runs(audit_db, as_json, xlsx_path, year):
    """List the recorded review runs, oldest first."""
    from disbursement.audit.queries import list_runs

    runs = list_runs(audit_db, year=year)
    _emit(
        runs,
        f"Recorded runs: {len(runs)}",
        [
            "Run",
            "Recorded (UTC)",
            "Reviewer",
            "Year",
            "Round",
            "Rule",
            "As of",
            "Lines",
            "Flagged",
            "Issues",
            "Inputs",
            "Decisions",
        ],
        [
            [
                r["run_id"][:16],
                r["recorded_at"],
                r["reviewer"] + (f" ({r['db_role']})" if r.get("db_role") else ""),
                r["year"],
                r["round"],
                r["rule_id"],
                r["as_of"],
                r["lines"],
                r["flagged"],
                r["issues"],
                r["inputs"],
                r["decisions"],
            ]
            for r in runs
        ],
        set(),
        as_json,
        xlsx_path,
    )


@audit_group.command("show")
@click.argument("run")
@audit_options
def audit_show(run, audit_db, as_json, xlsx_path):
    """Show one run (its id, a unique prefix, or `latest`): inputs, outputs, flags, decisions."""
    from disbursement.audit.queries import show_run

    data = show_run(audit_db, run)
    if not as_json:
        role = f", database role {data['db_role']}" if data.get("db_role") else ""
        click.echo(
            f"Run {data['run_id']} recorded {data['recorded_at']} by {data['reviewer']} "
            f"(engine {data['engine_version']}{role})"
        )
        click.echo(
            f"  {data['rule_id']} round {data['round']}, year {data['year']}, data as of "
            f"{data['as_of']}; rules {data['rules_path']} (sha256 {data['rules_sha256']})"
        )
        for item in data["inputs"]:
            click.echo(f"  input  {item['name']} ({item['size']} bytes, sha256 {item['sha256']})")
        for item in data["outputs"]:
            click.echo(f"  output {item['name']}: {item['path']} (sha256 {item['sha256']})")
        for d in data["decision_records"]:
            click.echo(
                f"  decision {d['decision']} recorded {d['recorded_at']} by "
                f"{d['recorded_by']} ({len(d['lines'])} lines, {d['basis']})"
            )
        click.echo(f"  record hash {data['record_hash']}")
    _emit(
        data,
        f"Flags: {len(data['flags'])}",
        ["Code", "Project", "Source", "Plan", "Disbursed", "Rate %", "Rule", "Lifecycle", "Where"],
        [
            [
                f["project_code"],
                f["project_name"],
                f["capital_source"],
                f["plan_dong"],
                f["disbursed_dong"],
                f["rate_pct"],
                f["rule_id"],
                f.get("lifecycle", ""),
                _where(f["source"]),
            ]
            for f in data["flags"]
        ],
        {3, 4},
        as_json,
        xlsx_path,
    )


@audit_group.command("project")
@click.argument("code")
@audit_options
def audit_project(code, audit_db, as_json, xlsx_path):
    """History of project CODE across rounds and years: flagged or not, figures, decisions."""
    from disbursement.audit.queries import project_history
    from disbursement.money import format_trieu

    rows = project_history(audit_db, code)
    if not rows:
        raise click.ClickException(f"no recorded run read project {code}")
    _emit(
        rows,
        f"Project {code}: {len(rows)} readings",
        [
            "Year",
            "Round",
            "Rule",
            "As of",
            "Run",
            "Source",
            "State",
            "Plan",
            "Disbursed",
            "Rate %",
            "Proposal",
            "Decision",
        ],
        [
            [
                r["year"],
                r["round"],
                r["rule_id"],
                r["as_of"],
                r["run_id"][:16],
                r.get("capital_source"),
                r["state"],
                r.get("plan_dong"),
                r.get("disbursed_dong"),
                r.get("rate_pct"),
                "; ".join(f"{p['kind']} {format_trieu(p['amount_dong'])}" for p in r.get("proposal", [])),
                "; ".join(d["decision"] for d in r.get("decisions", [])),
            ]
            for r in rows
        ],
        {7, 8},
        as_json,
        xlsx_path,
    )
    if not as_json:
        _echo_replies(rows)


def _echo_replies(rows: list[dict]) -> None:
    """The line's reply history: "was X, now Y, from <investor>, received <date>"."""
    from disbursement.money import format_trieu

    seen, lines = set(), []
    for r in rows:
        for a in r.get("replies", []):
            key = (a["received"], a["file_name"], a["capital_source"], a["field"], a["sheet"], a["row"])
            if key in seen:
                continue
            seen.add(key)
            was = "—" if a["was_dong"] is None else format_trieu(a["was_dong"])
            now = (
                f'"{a["text"]}"'
                if a["text"] is not None
                else "—"
                if a["now_dong"] is None
                else format_trieu(a["now_dong"])
            )
            lines.append(
                f"  {a['received']} {a['capital_source']} {a['field']}: was {was}, "
                f"now {now}, from {a['investor']}, received {a['received']} "
                f"({a['file_name']} {a['sheet']}!{a['col']}{a['row']})"
            )
    if lines:
        click.echo("Investor replies (triệu đồng):")
        for line in lines:
            click.echo(line)


@audit_group.command("flagged")
@click.option("--year", type=int, required=True, help="Plan year.")
@click.option("--round", "round_number", type=int, help="Only this round.")
@click.option("--all-runs", is_flag=True, help="Every run of a round, not only the latest.")
@audit_options
def audit_flagged(year, round_number, all_runs, audit_db, as_json, xlsx_path):
    """Lines flagged in a year (latest run of each round unless --all-runs)."""
    from disbursement.audit.queries import flagged

    rows = flagged(audit_db, year, round_number, all_runs=all_runs)
    _emit(
        rows,
        f"Flagged in {year}: {len(rows)}",
        ["Round", "Run", "Code", "Project", "Source", "Plan", "Disbursed", "Rate %", "Rule", "Where"],
        [
            [
                f["round"],
                f["run_id"][:16],
                f["project_code"],
                f["project_name"],
                f["capital_source"],
                f["plan_dong"],
                f["disbursed_dong"],
                f["rate_pct"],
                f["rule_id"],
                _where(f["source"]),
            ]
            for f in rows
        ],
        {5, 6},
        as_json,
        xlsx_path,
    )


@audit_group.command("diff")
@click.argument("run_a")
@click.argument("run_b")
@audit_options
def audit_diff(run_a, run_b, audit_db, as_json, xlsx_path):
    """Flags new in RUN_B, persisting from RUN_A, and cleared since RUN_A."""
    from disbursement.audit.queries import diff_runs
    from disbursement.money import format_trieu

    data = diff_runs(audit_db, run_a, run_b)
    rows = [*data["new"], *data["persisting"], *data["cleared"]]
    _emit(
        data,
        f"{len(data['new'])} new, {len(data['persisting'])} persisting, "
        f"{len(data['cleared'])} cleared ({data['run_a'][:16]} → {data['run_b'][:16]})",
        ["Change", "Line", "Project", "Plan", "Disbursed", "Now"],
        [
            [
                r["state"],
                r["key"],
                r["project_name"],
                r["plan_dong"],
                r["disbursed_dong"],
                ""
                if "now" not in r
                else r["now"]
                if isinstance(r["now"], str)
                else f"plan {format_trieu(r['now']['plan_dong'])}, disbursed "
                f"{format_trieu(r['now']['disbursed_dong'])}, not flagged",
            ]
            for r in rows
        ],
        {3, 4},
        as_json,
        xlsx_path,
    )
