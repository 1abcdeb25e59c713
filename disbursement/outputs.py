"""Write every output of a round into the --out folder, each file atomically."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from disbursement.files import confined
from disbursement.model import RunResult


def write_outputs(result: RunResult, out_dir: str | Path, *, lang: str = "vi", settings=None,
                  templates_dir=None, date: dt.date | None = None) -> dict[str, Path]:
    """flags.xlsx/.csv, issues.xlsx, proposal.xlsx, the memo set and annotated input copies."""
    from disbursement.export import (
        write_flags_csv,
        write_flags_xlsx,
        write_issues_xlsx,
        write_proposal_xlsx,
    )

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    writers = [("flags.xlsx", write_flags_xlsx), ("flags.csv", write_flags_csv),
               ("issues.xlsx", write_issues_xlsx)]
    if result.proposal is not None:
        writers.append(("proposal.xlsx", write_proposal_xlsx))
    for name, writer in writers:
        path = confined(out, name)
        writer(result, path)
        written[name] = path
    if result.proposal is not None:
        from disbursement.render import render_outputs

        rendered = render_outputs(result, out, settings=settings, lang=lang,
                                  templates_dir=templates_dir, date=date)
        written.update({path.name: path for path in rendered.values()})
    written.update(_annotated_copies(result, out))
    return written


def _annotated_copies(result: RunResult, out: Path) -> dict[str, Path]:
    try:
        from disbursement.annotate import annotate_copy
    except ImportError:  # annotation stage not installed
        return {}
    copies = {}
    for source in dict.fromkeys(result.inputs):
        path = Path(source)
        name = f"{path.stem}.annotated.xlsx"
        target = confined(out, name)
        mine = result.flags[result.flags["file"] == source] if len(result.flags) else result.flags
        issues = [i for i in result.issues if i.file == source]
        copies[name] = annotate_copy(path, target, mine, issues)
    return copies
