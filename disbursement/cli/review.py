"""`review`, `inspect` and `whatif`: one library call each (session.review, pipeline)."""

from __future__ import annotations

import json

import click

from disbursement.cli.app import (
    AUDIT_DB_HELP,
    _date,
    _Echo,
    cli,
    ending_fast,
    input_options,
    keep_until_exit,
)


@cli.command()
@input_options
@click.option("--round", "round_number", type=int, required=True, help="Round number (1, 2, 3 …).")
@click.option("--as-of", callback=_date, help="Data date, overriding the round's (DD/MM/YYYY).")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    help="Write flags.xlsx, flags.csv and the other outputs into this folder.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.option("--no-audit", is_flag=True, help="Do not record the run in the audit store.")
@click.option("--audit-db", type=click.Path(dir_okay=False), metavar="PATH|URL", help=AUDIT_DB_HELP)
@click.option("--reviewer", help="Name recorded as the reviewer (default: the OS user).")
@click.option(
    "--overrides",
    type=click.Path(dir_okay=False),
    help="xlsx/csv of manual changes to the proposal (code, source, kind, amount, reason, approver).",
)
@click.option(
    "--lang",
    type=click.Choice(["vi", "en"]),
    default="vi",
    show_default=True,
    help="Language of every output and of what is printed (vi or en).",
)
@click.option(
    "--settings",
    "settings_path",
    type=click.Path(dir_okay=False),
    help="Organisation settings (default: rules/settings/son-la.yaml).",
)
@click.option(
    "--templates",
    "templates_dir",
    type=click.Path(file_okay=False),
    help="Folder of templates searched before the built-in ones.",
)
@click.option(
    "--date",
    "memo_date",
    callback=_date,
    help="Date printed on the memo (default: derived from the round, never the clock).",
)
@click.option(
    "--replies",
    "replies_dir",
    type=click.Path(file_okay=False, exists=True),
    help="Folder of investors' returned request workbooks: their answers are used.",
)
@click.option(
    "--received", callback=_date, help="Date those replies were received (DD/MM/YYYY); else the one recorded."
)
@click.option(
    "--use-recorded-replies",
    is_flag=True,
    help="Also use the replies kept in the audit store for the plan year.",
)
@click.option("--debug", is_flag=True, hidden=True)
def review(
    files,
    round_number,
    year,
    rules_path,
    unit,
    as_of,
    out_dir,
    as_json,
    no_audit,
    audit_db,
    reviewer,
    overrides,
    lang,
    settings_path,
    templates_dir,
    memo_date,
    replies_dir,
    received,
    use_recorded_replies,
    debug,
):
    """Run review round N over FILES and list the flagged project lines."""
    from disbursement.ingest import zip_guard

    zip_guard.check_ahead(files)  # the workbooks' zip guards run while the libraries are imported
    click.get_current_context().call_on_close(zip_guard.settle)  # a check never taken is stopped
    from disbursement.session import ReviewOptions, audit_target, gc_paused
    from disbursement.session import review as run_review

    options = ReviewOptions(
        round=round_number,
        year=year,
        unit=unit,
        as_of=as_of,
        rules_path=rules_path,
        overrides=overrides,
        lang=lang,
        settings=settings_path,
        templates_dir=templates_dir,
        date=memo_date,
        replies=replies_dir,
        received=received,
        use_recorded_replies=use_recorded_replies,
    )
    target = audit_target(audit_db, enabled=not no_audit)  # a bad store fails before any work
    # The run and the printing of its result (see session.gc_paused); the process ends next
    # when run as the command (cli.app.main).
    with gc_paused(resume=not ending_fast()):
        outcome = run_review(
            files, options, out_dir=out_dir, audit=target, reviewer=reviewer, printed=as_json
        )
        keep_until_exit(outcome)  # freed by the OS at exit, not object by object
        _review_and_print(outcome, as_json, lang)


def _review_and_print(outcome, as_json: bool, lang: str = "vi") -> None:
    from disbursement.render.records import result_json, write_json, write_members
    from disbursement.render.terminal import terminal_report, written_lines

    if as_json:
        tail: dict = {}
        if outcome.run_id:
            tail["audit"] = {"run_id": outcome.run_id, "store": str(outcome.store)}
        if outcome.written:
            tail["outputs"] = {k: str(v) for k, v in outcome.written.items()}
        if outcome.json_body is not None:  # the result's members, written while it was recorded
            stream = _Echo()
            stream.write(b"{")
            with outcome.json_body as body:
                stream.copy(body)
            write_members(tail, stream, after=True)
            stream.write(b"\n}\n")
            stream.flush()
            return
        # The flags encoded once by the session (`printed`), for the record and here.
        payload = result_json(outcome.result, flags=outcome.flag_json, lazy=True)
        write_json({**payload, **tail}, _Echo())
        return
    click.echo(terminal_report(outcome.result, lang))
    for line in written_lines(outcome.written, outcome.run_id, outcome.store, lang):
        click.echo(line)


@cli.command()
@input_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.option("--rows", "first_rows", default=5, show_default=True, help="Project rows to show per sheet.")
@click.option(
    "--round",
    "round_number",
    type=int,
    help="Read the sheets as round N does (its date ranks dated columns).",
)
@click.option("--as-of", callback=_date, help="With --round: the data date (DD/MM/YYYY).")
def inspect(files, year, rules_path, unit, as_json, first_rows, round_number, as_of):
    """Show how each sheet of FILES was understood (header, columns, unit, row classes)."""
    from disbursement.pipeline import inspect_files
    from disbursement.render.terminal import inspect_report

    if as_of is not None and round_number is None:
        raise click.UsageError("--as-of needs --round")
    data = inspect_files(
        files,
        year=year,
        rules_path=rules_path,
        unit=unit,
        first_rows=first_rows,
        round_number=round_number,
        as_of=as_of,
    )
    click.echo(json.dumps(data, ensure_ascii=False, indent=1) if as_json else inspect_report(data))


@cli.command()
@input_options
@click.option("--round", "round_number", type=int, required=True, help="Round number (1, 2, 3 …).")
@click.option(
    "--thresholds",
    default="40,45,50,55,60",
    show_default=True,
    help="Comma-separated integer percents to try.",
)
@click.option("--as-of", callback=_date, help="Data date, overriding the round's (DD/MM/YYYY).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.option(
    "--lang",
    type=click.Choice(["vi", "en"]),
    default="vi",
    show_default=True,
    help="Language of the printed table.",
)
def whatif(files, round_number, thresholds, year, rules_path, unit, as_of, as_json, lang):
    """How many lines round N would flag, and how much it could recall, at other thresholds."""
    from disbursement.pipeline import whatif as run_whatif
    from disbursement.render.terminal import whatif_report

    try:
        values = sorted({int(t) for t in thresholds.split(",") if t.strip()})
    except ValueError:
        raise click.BadParameter("use integers such as 40,45,50", param_hint="--thresholds") from None
    if not values or not all(0 < t <= 100 for t in values):
        raise click.BadParameter("each threshold must be 1..100", param_hint="--thresholds")
    data = run_whatif(files, round_number, values, year=year, rules_path=rules_path, as_of=as_of, unit=unit)
    click.echo(json.dumps(data, ensure_ascii=False, indent=1) if as_json else whatif_report(data, lang))
