"""Write every output of a round into the --out folder, all files or none."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from pathlib import Path

from disbursement.config.issues import issue
from disbursement.errors import OutputError
from disbursement.files import confined
from disbursement.forked import Job
from disbursement.model import RunResult
from disbursement.render.words import localised


def write_outputs(
    result: RunResult,
    out_dir: str | Path,
    *,
    lang: str = "vi",
    settings: str | Path | None = None,
    templates_dir: str | Path | None = None,
    date: dt.date | None = None,
) -> dict[str, Path]:
    """flags.xlsx/.csv, issues.xlsx, proposal.xlsx, so_theo_doi.xlsx, report.html, the memo set,
    annotated copies.

    All or nothing: every file is written into a hidden staging folder inside `out_dir` and
    moved into place only when the whole set has been written, so a failure leaves `out_dir`
    as it was (older outputs unchanged, no partial or temp file). An output that would replace
    one of the inputs is refused.
    """
    from disbursement.render.tables import (
        write_flags_csv,
        write_flags_xlsx,
        write_issues_xlsx,
        write_proposal_xlsx,
    )

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {out_dir} is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    inputs = {Path(p).resolve() for p in result.inputs}
    note_skipped_annotations(result)
    skipped = _too_large_to_annotate(result)
    shown = localised(result, lang)  # the result as the outputs of `lang` name it
    staging = Path(tempfile.mkdtemp(prefix=".disbursement-", dir=out))
    split = len(result.plan) >= SECOND_WRITER_MIN_LINES  # flags.xlsx (and the register) in the child
    annotating = any(source not in skipped for source in result.inputs)
    # The child writes the register too unless it also makes the annotated copies: a copy is
    # the longest file of a province's set (0.8 s at 1k lines), so the register is written
    # here beside it.
    register_apart = split and not annotating
    second = drawing = None
    try:
        second = Job(
            _second_writer,
            *(shown, staging, skipped, lang, split, register_apart, templates_dir, settings),
            fork=split or annotating,
            what="the annotated copies"
            + (", flags.xlsx" if split else "")
            + (" and so_theo_doi.xlsx" if register_apart else ""),
        )
        drawing = Job(
            _chart_png, shown, templates_dir, lang, fork=result.proposal is not None, what="the chart"
        )
        # The order of the set is the same whoever writes a file: the child's take their place.
        staged: dict[str, Path | None] = {"flags.xlsx": None}
        writers = [] if split else [("flags.xlsx", write_flags_xlsx)]
        writers += [("flags.csv", write_flags_csv), ("issues.xlsx", write_issues_xlsx)]
        if result.proposal is not None:
            writers.append(("proposal.xlsx", write_proposal_xlsx))
        for name, writer in writers:
            path = confined(staging, name)
            writer(shown, path, lang=lang, templates_dir=templates_dir, settings=settings)
            staged[name] = path
        from disbursement.render.env import environment
        from disbursement.render.register import REGISTER_NAME, write_register
        from disbursement.render.report import REPORT_NAME, write_report

        # The register before the memo set: the chart it waits for is drawn meanwhile.
        env = environment(templates_dir)
        register = confined(staging, REGISTER_NAME)
        registered = None if register_apart else write_register(shown, register, env=env, lang=lang)
        if result.proposal is not None:
            from disbursement.render import render_outputs

            rendered = render_outputs(
                shown,
                staging,
                settings=settings,
                lang=lang,
                templates_dir=templates_dir,
                date=date,
                chart=drawing.result,
            )
            staged.update({path.name: path for path in rendered.values()})
        staged[REGISTER_NAME] = registered  # its place in the set: after the memo set
        chart = staged.get("bieu_do.png")
        staged[REPORT_NAME] = write_report(
            shown,
            confined(staging, REPORT_NAME),
            env=env,
            lang=lang,
            chart=chart.read_bytes() if chart is not None else None,
            templates_dir=None if templates_dir is None else str(templates_dir),
        )
        staged.update(second.result())
        done = {name: path for name, path in staged.items() if path is not None}
        targets = {name: confined(out, path.name) for name, path in done.items()}
        for name, target in targets.items():
            if target in inputs:
                raise OutputError(
                    f"writing {name} into {out_dir} would replace the input "
                    f"{target}; choose another --out folder"
                )
        for name, target in targets.items():
            os.replace(done[name], target)
        return targets
    finally:
        for job in (drawing, second):
            if job is not None:
                job.cancel()
        shutil.rmtree(staging, ignore_errors=True)


# From this many lines flags.xlsx and the register (at 100k lines ~6 s and ~10 s; at a
# province's 1k lines ~0.12 s each) are written by the second process too, beside the memo,
# tables and report written here (the register stays here beside an annotated copy). Below it
# the fork gains less than it costs.
SECOND_WRITER_MIN_LINES = 500


def _chart_png(shown: RunResult, templates_dir: str | Path | None, lang: str) -> bytes:
    """The memo's chart, drawn in a child beside the tables (matplotlib's import and drawing
    are ~0.4 s of a province's round)."""
    from disbursement.render.chart import render_chart
    from disbursement.render.env import environment

    return render_chart(shown, environment(templates_dir), lang)


def _second_writer(
    shown: RunResult,
    staging: Path,
    skipped: set[str],
    lang: str,
    split: bool,
    register: bool,
    templates_dir: str | Path | None,
    settings: str | Path | None,
) -> dict[str, Path]:
    """What the forked child writes: the annotated copies, for a large result flags.xlsx, and
    the register where it makes no annotated copy."""
    written = _annotated_copies(shown, staging, skipped, lang)
    if split:
        from disbursement.render.tables import write_flags_xlsx

        path = confined(staging, "flags.xlsx")
        write_flags_xlsx(shown, path, lang=lang, templates_dir=templates_dir, settings=settings)
        written["flags.xlsx"] = path
    if register:
        from disbursement.render.env import environment
        from disbursement.render.register import REGISTER_NAME, write_register

        env = environment(templates_dir)
        written[REGISTER_NAME] = write_register(shown, confined(staging, REGISTER_NAME), env=env, lang=lang)
    return written


# An annotated copy is an openpyxl round trip of the whole input (about 0.6 ms and 25 kB of
# memory per line): worth it for a province's workbook, not for a national consolidation.
ANNOTATE_MAX_LINES = 20_000


def _line_counts(result: RunResult) -> dict[str, int]:
    return result.plan["file"].value_counts().to_dict() if len(result.plan) else {}


def note_skipped_annotations(result: RunResult) -> None:
    """Say in an issue each input too large for an annotated copy (before issues.xlsx and the
    counts are made, so both include it)."""
    counts = _line_counts(result)
    for source in dict.fromkeys(result.inputs):
        lines = counts.get(source, 0)
        if lines > ANNOTATE_MAX_LINES and not any(
            i.code == "ANNOTATION-SKIPPED" and i.file == source for i in result.issues
        ):
            result.issues.append(
                issue(
                    "ANNOTATION-SKIPPED",
                    source,
                    None,
                    None,
                    None,
                    f"no annotated copy: {lines:,} lines is above {ANNOTATE_MAX_LINES:,}; "
                    "flags.xlsx and issues.xlsx name every row instead",
                )
            )


def _too_large_to_annotate(result: RunResult) -> set[str]:
    """Inputs that get no annotated copy (`note_skipped_annotations` says why)."""
    counts = _line_counts(result)
    return {source for source in result.inputs if counts.get(source, 0) > ANNOTATE_MAX_LINES}


def _annotated_copies(result: RunResult, out: Path, skipped: set[str], lang: str = "vi") -> dict[str, Path]:
    from disbursement.render.annotate import annotate_copy

    copies = {}
    for source in dict.fromkeys(result.inputs):
        path = Path(source)
        if source in skipped:
            continue
        target = confined(out, f"{path.stem}.annotated.xlsx")
        issues = [i for i in result.issues if i.file == source]
        # All flags: annotate_copy picks this file's own and marks Treasury source rows too.
        written = annotate_copy(path, target, result.flags, issues, round_info=result.round, lang=lang)
        copies[written.name] = written
    return copies
