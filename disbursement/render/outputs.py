"""Write every output of a round into the --out folder, all files or none."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from disbursement.config.issues import issue
from disbursement.errors import OutputError
from disbursement.files import confined
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
    staging = Path(tempfile.mkdtemp(prefix=".disbursement-", dir=out))
    shown = localised(result, lang)  # the result as the outputs of `lang` name it
    annotations = _start(_annotated_copies, shown, staging, skipped, lang)
    try:
        staged: dict[str, Path] = {}
        writers = [
            ("flags.xlsx", write_flags_xlsx),
            ("flags.csv", write_flags_csv),
            ("issues.xlsx", write_issues_xlsx),
        ]
        if result.proposal is not None:
            writers.append(("proposal.xlsx", write_proposal_xlsx))
        for name, writer in writers:
            path = confined(staging, name)
            writer(shown, path, lang=lang, templates_dir=templates_dir, settings=settings)
            staged[name] = path
        if result.proposal is not None:
            from disbursement.render import render_outputs

            rendered = render_outputs(
                shown, staging, settings=settings, lang=lang, templates_dir=templates_dir, date=date
            )
            staged.update({path.name: path for path in rendered.values()})
        from disbursement.render.env import environment
        from disbursement.render.register import REGISTER_NAME, write_register
        from disbursement.render.report import REPORT_NAME, write_report

        env = environment(templates_dir)
        staged[REGISTER_NAME] = write_register(shown, confined(staging, REGISTER_NAME), env=env, lang=lang)
        chart = staged.get("bieu_do.png")
        staged[REPORT_NAME] = write_report(
            shown,
            confined(staging, REPORT_NAME),
            env=env,
            lang=lang,
            chart=chart.read_bytes() if chart is not None else None,
            templates_dir=None if templates_dir is None else str(templates_dir),
        )
        staged.update(annotations.result())
        targets = {name: confined(out, path.name) for name, path in staged.items()}
        for name, target in targets.items():
            if target in inputs:
                raise OutputError(
                    f"writing {name} into {out_dir} would replace the input "
                    f"{target}; choose another --out folder"
                )
        for name, target in targets.items():
            os.replace(staged[name], target)
        return targets
    finally:
        annotations.cancel()
        shutil.rmtree(staging, ignore_errors=True)


class _Job:
    """A call run in a forked child while this process renders the other outputs.

    The annotated copies are an openpyxl round trip (pure Python, ~1.2 s for a province's
    workbook); on a second core they overlap the memo, chart and tables instead of following
    them. Without fork (or with one core) the call simply runs here, when its result is asked.
    """

    def __init__(self, call: Callable[..., Any], *args: Any) -> None:
        self.call, self.args, self.future, self.executor = call, args, None, None
        import multiprocessing

        if (os.cpu_count() or 1) > 1 and "fork" in multiprocessing.get_all_start_methods():
            from concurrent.futures import ProcessPoolExecutor

            self.executor = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork"))
            self.future = self.executor.submit(call, *args)

    def result(self) -> Any:
        if self.future is None:
            return self.call(*self.args)
        try:
            return self.future.result()
        finally:
            self.cancel()

    def cancel(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)
            self.executor = None


def _start(call: Callable[..., Any], *args: Any) -> _Job:
    return _Job(call, *args)


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
