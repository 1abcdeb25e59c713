"""Command line: thin click layer over the library. The only module that imports click.

Exit codes: 0 the run completed (flags and data issues are normal output); 1 `Error: …`
when an input or the rules cannot be used at all; 2 usage errors. A traceback only with
`--debug`. Heavy libraries are imported inside the commands so `--help` stays fast.
"""

from __future__ import annotations

import datetime as dt
import json
import sys

import click

from disbursement import __version__

UNITS = ("dong", "nghin", "trieu", "ty")


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
            return super().invoke(ctx)
        except DisbursementError as exc:
            if _debug():
                raise
            raise click.ClickException(str(exc)) from None
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except KeyboardInterrupt:
            raise click.Abort() from None
        except Exception as exc:
            if _debug():
                raise
            raise click.ClickException(
                f"internal error ({type(exc).__name__}: {exc}); "
                "run again with --debug for the traceback and report it"
            ) from None


def _debug() -> bool:
    return "--debug" in sys.argv


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
@click.option("--debug", is_flag=True, hidden=True)
def review(files, round_number, year, rules_path, unit, as_of, out_dir, as_json, no_audit, debug):
    """Run review round N over FILES and list the flagged project lines."""
    from disbursement.export import result_json
    from disbursement.pipeline import run_round

    result = run_round(files, round_number, year=year, rules_path=rules_path, as_of=as_of,
                       unit=unit)
    written = {}
    if out_dir:
        from disbursement.outputs import write_outputs

        written = write_outputs(result, out_dir)
    if as_json:
        payload = result_json(result)
        if written:
            payload["outputs"] = {k: str(v) for k, v in written.items()}
        click.echo(json.dumps(payload, ensure_ascii=False, indent=1))
        return
    from disbursement.report import terminal_report

    click.echo(terminal_report(result))
    for name, path in written.items():
        click.echo(f"  wrote {name}: {path}")


def main() -> None:
    cli(prog_name="disbursement")
