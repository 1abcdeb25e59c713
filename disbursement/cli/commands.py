"""Command line: thin click layer over the library. The only module that imports click.

Exit codes: 0 the run completed (flags and data issues are normal output); 1 `Error: …`
when an input or the rules cannot be used at all; 2 usage errors. A traceback only with
`--debug`. Heavy libraries are imported inside the commands so `--help` stays fast.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import sys
import warnings
from pathlib import Path

import click

from disbursement import __version__

UNITS = ("dong", "nghin", "trieu", "ty")
AUDIT_DB_HELP = ("Audit store: an SQLite file or postgresql://host/database (default: "
                 "$DISBURSEMENT_AUDIT_DB or ./disbursement-audit.sqlite).")


def _date(ctx, param, value):
    if value is None:
        return None
    for fmt in ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y"):
        try:
            return dt.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise click.BadParameter(f"{value!r} is not a date (use DD/MM/YYYY or YYYY-MM-DD)")


class Group(click.Group):
    """Turns library errors into one `Error: …` line (exit 1); tracebacks only with --debug."""

    def invoke(self, ctx):
        from disbursement.errors import DisbursementError

        try:
            with _quiet_stderr():
                return super().invoke(ctx)
        except DisbursementError as exc:
            if _debug():
                raise
            raise click.ClickException(_one_line(str(exc))) from None
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except KeyboardInterrupt:
            raise click.Abort() from None
        except BrokenPipeError:  # `disbursement review … | head`: the reader left; stop quietly
            import os

            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(141)
        except Exception as exc:
            if _debug():
                raise
            raise click.ClickException(_one_line(
                f"internal error ({type(exc).__name__}: {exc}); "
                "run again with --debug for the traceback and report it"
            )) from None


class _Echo:
    """A text stream for streamed output: buffers ~1 MB, then hands it to click.echo."""

    def __init__(self, size: int = 1 << 20):
        self.parts: list[str] = []
        self.pending, self.size = 0, size

    def write(self, text: str) -> None:
        self.parts.append(text)
        self.pending += len(text)
        if self.pending >= self.size:
            self.flush()

    def flush(self) -> None:
        click.echo("".join(self.parts), nl=False)
        self.parts, self.pending = [], 0


def _debug() -> bool:
    return "--debug" in sys.argv


def _one_line(message: str) -> str:
    """The exit-1 contract: one `Error:` line, so a newline or CR in a file name is escaped."""
    return message.replace("\r", "\\r").replace("\n", "\\n")


@contextlib.contextmanager
def _quiet_stderr():
    """While a command runs, what libraries write to stderr (Python warnings, notes the Rust
    reader behind calamine prints straight to file descriptor 2) is dropped, so a failing run
    shows only its `Error:` line; --debug keeps them."""
    if _debug():
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no usable descriptor 2: nothing to protect
        yield
        return
    sink = os.open(os.devnull, os.O_WRONLY)
    os.dup2(sink, 2)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(sink)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="disbursement")
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
def cli(debug):
    """Review public-investment disbursement in rounds and propose capital reallocation.

    Typical use: disbursement review plan.xlsx --round 1 --out out/
    """


def input_options(f):
    """Options shared by every command that reads workbooks."""
    f = click.option("--unit", type=click.Choice(UNITS),
                     help="Unit of the amounts when the sheet's unit line is missing or wrong.")(f)
    f = click.option("--rules", "rules_path", type=click.Path(dir_okay=False),
                     help="Rules file (default: rules/son-la-2022.yaml).")(f)
    f = click.option("--year", type=click.IntRange(2000, 2100),
                     help="Plan year (default: the rules' plan_year). Shifts every date.")(f)
    f = click.argument("files", nargs=-1, required=True, type=click.Path())(f)
    return f


@cli.command()
@input_options
@click.option("--round", "round_number", type=int, required=True, help="Round number (1, 2, 3 …).")
@click.option("--as-of", callback=_date, help="Data date, overriding the round's (DD/MM/YYYY).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False),
              help="Write flags.xlsx, flags.csv and the other outputs into this folder.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.option("--no-audit", is_flag=True, help="Do not record the run in the audit store.")
@click.option("--audit-db", type=click.Path(dir_okay=False), metavar="PATH|URL",
              help=AUDIT_DB_HELP)
@click.option("--reviewer", help="Name recorded as the reviewer (default: the OS user).")
@click.option("--overrides", type=click.Path(dir_okay=False),
              help="xlsx/csv of manual changes to the proposal "
                   "(code, source, kind, amount, reason, approver).")
@click.option("--lang", type=click.Choice(["vi", "en"]), default="vi", show_default=True,
              help="Language of the memo and appendix.")
@click.option("--settings", "settings_path", type=click.Path(dir_okay=False),
              help="Organisation settings (default: rules/settings/son-la.yaml).")
@click.option("--templates", "templates_dir", type=click.Path(file_okay=False),
              help="Folder of templates searched before the built-in ones.")
@click.option("--date", "memo_date", callback=_date,
              help="Date printed on the memo (default: derived from the round, never the clock).")
@click.option("--debug", is_flag=True, hidden=True)
def review(files, round_number, year, rules_path, unit, as_of, out_dir, as_json, no_audit,
           audit_db, reviewer, overrides, lang, settings_path, templates_dir, memo_date, debug):
    """Run review round N over FILES and list the flagged project lines."""
    from disbursement.render.records import result_json, write_json
    from disbursement.render.terminal import terminal_report
    from disbursement.session import ReviewOptions, audit_target
    from disbursement.session import review as run_review

    options = ReviewOptions(round=round_number, year=year, unit=unit, as_of=as_of,
                            rules_path=rules_path, overrides=overrides, lang=lang,
                            settings=settings_path, templates_dir=templates_dir, date=memo_date)
    target = audit_target(audit_db, enabled=not no_audit)  # a bad store fails before any work
    outcome = run_review(files, options, out_dir=out_dir, audit=target, reviewer=reviewer)
    if as_json:
        payload = result_json(outcome.result)
        if outcome.run_id:
            payload["audit"] = {"run_id": outcome.run_id, "store": str(outcome.store)}
        if outcome.written:
            payload["outputs"] = {k: str(v) for k, v in outcome.written.items()}
        write_json(payload, _Echo())
        return
    click.echo(terminal_report(outcome.result))
    for name, path in outcome.written.items():
        click.echo(f"  wrote {name}: {path}")
    if outcome.run_id:
        click.echo(f"  recorded run {outcome.run_id} in {outcome.store}")


@cli.command()
@input_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.option("--rows", "first_rows", default=5, show_default=True, help="Project rows to show per sheet.")
def inspect(files, year, rules_path, unit, as_json, first_rows):
    """Show how each sheet of FILES was understood (header, columns, unit, row classes)."""
    from disbursement.pipeline import inspect_files
    from disbursement.render.terminal import inspect_report

    data = inspect_files(files, year=year, rules_path=rules_path, unit=unit, first_rows=first_rows)
    click.echo(json.dumps(data, ensure_ascii=False, indent=1) if as_json else inspect_report(data))


@cli.command()
@input_options
@click.option("--round", "round_number", type=int, required=True, help="Round number (1, 2, 3 …).")
@click.option("--thresholds", default="40,45,50,55,60", show_default=True,
              help="Comma-separated integer percents to try.")
@click.option("--as-of", callback=_date, help="Data date, overriding the round's (DD/MM/YYYY).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
def whatif(files, round_number, thresholds, year, rules_path, unit, as_of, as_json):
    """How many lines round N would flag, and how much it could recall, at other thresholds."""
    from disbursement.pipeline import whatif as run_whatif
    from disbursement.render.terminal import whatif_report

    try:
        values = sorted({int(t) for t in thresholds.split(",") if t.strip()})
    except ValueError:
        raise click.BadParameter("use integers such as 40,45,50", param_hint="--thresholds") from None
    if not values or not all(0 < t <= 100 for t in values):
        raise click.BadParameter("each threshold must be 1..100", param_hint="--thresholds")
    data = run_whatif(files, round_number, values, year=year, rules_path=rules_path, as_of=as_of,
                      unit=unit)
    click.echo(json.dumps(data, ensure_ascii=False, indent=1) if as_json else whatif_report(data))


def main() -> None:
    cli(prog_name="disbursement")


# ---- audit store: recording happens in `review`; these commands query, verify, replay ------



def audit_options(f):
    """--audit-db, and --json / --xlsx FILE for the query commands."""
    f = click.option("--xlsx", "xlsx_path", type=click.Path(dir_okay=False),
                     help="Also write the table to this .xlsx file (atomically).")(f)
    f = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")(f)
    return click.option("--audit-db", type=click.Path(dir_okay=False), metavar="PATH|URL",
                        help=AUDIT_DB_HELP)(f)


def _emit(data, title: str, headers: list[str], rows: list[list], money: set[int],
          as_json: bool, xlsx_path: str | None) -> None:
    if xlsx_path:
        from pathlib import Path

        from disbursement.render.records import write_table_xlsx

        dates = [str(v)[:10] for r in rows for v in r if isinstance(v, str)
                 and len(v) >= 10 and v[4] == "-" and v[7] == "-" and v[:4].isdigit()]
        created = dt.date.fromisoformat(max(dates)) if dates else dt.date(2000, 1, 1)
        write_table_xlsx(Path(xlsx_path), title, "Sổ kiểm toán (audit store) của disbursement",
                         headers, rows, money, [max(8, min(40, len(h) + 4)) for h in headers],
                         created)
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=1))
        return
    from disbursement.money import format_trieu

    shown = [[format_trieu(v) if i in money and isinstance(v, int) else
              "" if v is None else str(v) for i, v in enumerate(r)] for r in rows]
    widths = [max([len(h)] + [len(r[i]) for r in shown]) for i, h in enumerate(headers)]
    click.echo(title)
    for r in [headers, *shown]:
        click.echo("  ".join(v.rjust(w) if i in money else v.ljust(w)
                             for i, (v, w) in enumerate(zip(r, widths, strict=True))).rstrip())
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
    _emit(runs, f"Recorded runs: {len(runs)}",
          ["Run", "Recorded (UTC)", "Reviewer", "Year", "Round", "Rule", "As of", "Lines",
           "Flagged", "Issues", "Inputs", "Decisions"],
          [[r["run_id"][:16], r["recorded_at"],
            r["reviewer"] + (f" ({r['db_role']})" if r.get("db_role") else ""),
            r["year"], r["round"], r["rule_id"], r["as_of"], r["lines"], r["flagged"],
            r["issues"], r["inputs"], r["decisions"]] for r in runs], set(), as_json, xlsx_path)


@audit_group.command("show")
@click.argument("run")
@audit_options
def audit_show(run, audit_db, as_json, xlsx_path):
    """Show one run (its id, a unique prefix, or `latest`): inputs, outputs, flags, decisions."""
    from disbursement.audit.queries import show_run

    data = show_run(audit_db, run)
    if not as_json:
        role = f", database role {data['db_role']}" if data.get("db_role") else ""
        click.echo(f"Run {data['run_id']} recorded {data['recorded_at']} by {data['reviewer']} "
                   f"(engine {data['engine_version']}{role})")
        click.echo(f"  {data['rule_id']} round {data['round']}, year {data['year']}, data as of "
                   f"{data['as_of']}; rules {data['rules_path']} (sha256 {data['rules_sha256']})")
        for item in data["inputs"]:
            click.echo(f"  input  {item['name']} ({item['size']} bytes, sha256 {item['sha256']})")
        for item in data["outputs"]:
            click.echo(f"  output {item['name']}: {item['path']} (sha256 {item['sha256']})")
        for d in data["decision_records"]:
            click.echo(f"  decision {d['decision']} recorded {d['recorded_at']} by "
                       f"{d['recorded_by']} ({len(d['lines'])} lines, {d['basis']})")
        click.echo(f"  record hash {data['record_hash']}")
    _emit(data, f"Flags: {len(data['flags'])}",
          ["Code", "Project", "Source", "Plan", "Disbursed", "Rate %", "Rule", "Lifecycle",
           "Where"],
          [[f["project_code"], f["project_name"], f["capital_source"], f["plan_dong"],
            f["disbursed_dong"], f["rate_pct"], f["rule_id"], f.get("lifecycle", ""),
            _where(f["source"])] for f in data["flags"]], {3, 4}, as_json, xlsx_path)


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
    _emit(rows, f"Project {code}: {len(rows)} readings",
          ["Year", "Round", "Rule", "As of", "Run", "Source", "State", "Plan", "Disbursed",
           "Rate %", "Proposal", "Decision"],
          [[r["year"], r["round"], r["rule_id"], r["as_of"], r["run_id"][:16],
            r.get("capital_source"), r["state"], r.get("plan_dong"), r.get("disbursed_dong"),
            r.get("rate_pct"),
            "; ".join(f"{p['kind']} {format_trieu(p['amount_dong'])}" for p in r.get("proposal", [])),
            "; ".join(d["decision"] for d in r.get("decisions", []))] for r in rows],
          {7, 8}, as_json, xlsx_path)


@audit_group.command("flagged")
@click.option("--year", type=int, required=True, help="Plan year.")
@click.option("--round", "round_number", type=int, help="Only this round.")
@click.option("--all-runs", is_flag=True, help="Every run of a round, not only the latest.")
@audit_options
def audit_flagged(year, round_number, all_runs, audit_db, as_json, xlsx_path):
    """Lines flagged in a year (latest run of each round unless --all-runs)."""
    from disbursement.audit.queries import flagged

    rows = flagged(audit_db, year, round_number, all_runs=all_runs)
    _emit(rows, f"Flagged in {year}: {len(rows)}",
          ["Round", "Run", "Code", "Project", "Source", "Plan", "Disbursed", "Rate %", "Rule",
           "Where"],
          [[f["round"], f["run_id"][:16], f["project_code"], f["project_name"],
            f["capital_source"], f["plan_dong"], f["disbursed_dong"], f["rate_pct"],
            f["rule_id"], _where(f["source"])] for f in rows], {5, 6}, as_json, xlsx_path)


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
    _emit(data, f"{len(data['new'])} new, {len(data['persisting'])} persisting, "
          f"{len(data['cleared'])} cleared ({data['run_a'][:16]} → {data['run_b'][:16]})",
          ["Change", "Line", "Project", "Plan", "Disbursed", "Now"],
          [[r["state"], r["key"], r["project_name"], r["plan_dong"], r["disbursed_dong"],
            "" if "now" not in r else r["now"] if isinstance(r["now"], str) else
            f"plan {format_trieu(r['now']['plan_dong'])}, disbursed "
            f"{format_trieu(r['now']['disbursed_dong'])}, not flagged"] for r in rows],
          {3, 4}, as_json, xlsx_path)


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
            click.echo(f"Chain broken at {broken['kind']} {broken['id']} (record {broken['seq']}): "
                       f"{broken['reason']}")
        for problem in report["files"]:
            click.echo(f"Stored file problem: {problem['problem']}")
        if report["integrity"] != "ok":
            click.echo(f"SQLite integrity check: {report['integrity']}")
    if not report["ok"]:
        raise click.exceptions.Exit(1)


@audit_group.command("copy")
@click.option("--from", "source", required=True,
              help="The store to copy (a file path or postgresql://…).")
@click.option("--to", "target", required=True,
              help="An empty store to copy into (created if it is a new SQLite file).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def audit_copy(source, target, as_json):
    """Copy a whole store (SQLite ↔ PostgreSQL), verifying the chain on both sides."""
    from disbursement.audit.copy import copy_store

    report = copy_store(source, target)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=1))
    else:
        click.echo(f"Copied {report['records']} records and {report['files']} stored files from "
                   f"{report['from']} to {report['to']}; both verify, chain head {report['head']}")


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
        click.echo(f"Replay of run {report['run_id']} (recorded with engine "
                   f"{versions['recorded']}, replayed with {versions['current']})")
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
@click.option("--decision", required=True,
              help='The decision, e.g. "Quyết định số 123/QĐ-UBND ngày 15/7/2022".')
@click.option("--approved", type=click.Path(exists=True, dir_okay=False),
              help="xlsx/csv of approved figures (Mã dự án, Nguồn vốn, Kế hoạch sau điều "
                   "chỉnh); without it the run's proposal is approved as it is.")
@click.option("--by", "recorded_by", help="Who records the decision (default: the OS user).")
@click.option("--audit-db", type=click.Path(dir_okay=False), metavar="PATH|URL", help=AUDIT_DB_HELP)
def decide(run, decision, approved, recorded_by, audit_db):
    """Record the decision that approved RUN's proposal; the next review checks against it."""
    from disbursement.audit.decisions import decide as record_decision

    done = record_decision(audit_db, run, decision, approved=approved, recorded_by=recorded_by)
    click.echo(f"Recorded decision {done['decision_id']} for run {done['run_id']}: "
               f"{done['lines']} approved lines ({done['basis']})")
