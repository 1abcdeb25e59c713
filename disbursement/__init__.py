"""Review engine for public investment disbursement rounds (kế hoạch vốn đầu tư công).

Library first. From a notebook:

    >>> import disbursement
    >>> outcome = disbursement.run_review(["plan.xlsx"], disbursement.ReviewOptions(round=1),
    ...                                   out_dir="out")      # what `disbursement review` does
    >>> result = disbursement.run_round(["plan.xlsx"], 1)     # the round alone, nothing written

The names below are loaded on first use, so `import disbursement` (and `disbursement --help`)
stays fast: pandas and the stages are imported only when a name is asked for.
(`run_review` is `session.review`; the bare name `review` is the stage package `review/`.)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from disbursement.version import __version__

_PUBLIC = {
    "run_review": "disbursement.session",
    "ReviewOptions": "disbursement.session",
    "ReviewOutcome": "disbursement.session",
    "audit_target": "disbursement.session",
    "run_round": "disbursement.pipeline",
    "inspect_files": "disbursement.pipeline",
    "load_rules": "disbursement.config.rules",
    "Issue": "disbursement.errors",
    "DisbursementError": "disbursement.errors",
    "RunResult": "disbursement.model",
}

_ALIASES = {"run_review": "review"}

__all__ = [
    "DisbursementError",
    "Issue",
    "ReviewOptions",
    "ReviewOutcome",
    "RunResult",
    "__version__",
    "audit_target",
    "inspect_files",
    "load_rules",
    "run_review",
    "run_round",
]

if TYPE_CHECKING:
    from disbursement.config.rules import load_rules
    from disbursement.errors import DisbursementError, Issue
    from disbursement.model import RunResult
    from disbursement.pipeline import inspect_files, run_round
    from disbursement.session import ReviewOptions, ReviewOutcome, audit_target
    from disbursement.session import review as run_review


def __getattr__(name: str) -> Any:
    """Load a public name from its stage module on first use (PEP 562)."""
    if name not in _PUBLIC:
        raise AttributeError(f"module 'disbursement' has no attribute {name!r}")
    value = getattr(importlib.import_module(_PUBLIC[name]), _ALIASES.get(name, name))
    globals()[name] = value
    return value
