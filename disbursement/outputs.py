"""Write every output of a round into the --out folder, each file atomically."""

from __future__ import annotations

from pathlib import Path

from disbursement.files import confined
from disbursement.model import RunResult


def write_outputs(result: RunResult, out_dir: str | Path) -> dict[str, Path]:
    from disbursement.export import write_flags_csv, write_flags_xlsx, write_issues_xlsx

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for name, writer in (("flags.xlsx", write_flags_xlsx), ("flags.csv", write_flags_csv),
                         ("issues.xlsx", write_issues_xlsx)):
        path = confined(out, name)
        writer(result, path)
        written[name] = path
    return written
