"""Language is a property of the run: every word an officer reads comes from one place per job.

- `localised(result, lang)`: the result as the outputs of `lang` name it — each capital source by
  the rules' official label (the sheets write them in many ways), without a life-cycle
  mark when the store knows no earlier round ("new" would then say nothing). For English, the
  round's name, criterion and legal basis and every capital-source label come from the rules
  file's `name_en` / `description_en` / `legal_basis_en` / `label_en` keys (falling back to the
  Vietnamese text where the file gives none). The JSON contract and the audit record keep the
  result as reviewed; only what is rendered for people is localised.
- `wording(env, name, lang)`: a per-language module of `{% set %}` words
  (`templates/<lang>/<name>.j2`), as the register, the appendix and the chart use.
- `issue_text(issue, lang)`: a data issue in plain words: the registry's meaning of its code
  (`rules/issues.yaml`) and, where `templates/_issues.j2` has a macro for the code, the
  details of this occurrence in the same language. An English run adds the engine's own
  message; a Vietnamese one never shows an English sentence.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from typing import Any

import jinja2
import pandas as pd

from disbursement.config.issues import lookup
from disbursement.errors import Issue
from disbursement.model import Proposal, RoundInfo, RunResult
from disbursement.render.env import check_lang, environment, squash

ISSUES_TEMPLATE = "_issues.j2"


def round_values(info: RoundInfo) -> dict[str, Any]:
    """What the per-output word modules may say of the round (`round.name`, `round.as_of_text`…)."""
    return {
        "name": info.name,
        "number": info.number,
        "year": info.year,
        "rule_id": info.rule_id,
        "as_of_text": f"{info.as_of:%d/%m/%Y}",
        "description": info.description,
        "threshold_pct": info.threshold_pct,
    }


def pool_text(pool: str, label: str) -> str:
    """A pool in words: its capital source's label and any finer part (e.g. budget level)."""
    rest = [part for part in pool.split("|")[1:] if part and part != "-"]
    return " / ".join([label, *rest])


def wording(env: jinja2.Environment, name: str, lang: str, **values: Any) -> Any:
    """The `{% set %}` words of `templates/<lang>/<name>.j2`, rendered with `values`."""
    return env.get_template(f"{check_lang(lang)}/{name}.j2").make_module(vars=values)


def _label_frame(frame: pd.DataFrame, labels: dict[str, str]) -> pd.DataFrame:
    if frame is None or "capital_source" not in frame or "capital_source_label" not in frame:
        return frame
    ids = frame["capital_source"].astype(object)
    mapped = ids.map(labels)
    label = frame["capital_source_label"].astype(object).where(mapped.isna(), mapped)
    return frame.assign(capital_source_label=label)


def _label_proposal(proposal: Proposal | None, labels: dict[str, str]) -> Proposal | None:
    if proposal is None:
        return None

    def relabel(x: Any) -> Any:
        new = labels.get(x.capital_source)
        return dataclasses.replace(x, capital_source_label=new) if new else x

    return dataclasses.replace(
        proposal,
        pools=tuple(map(relabel, proposal.pools)),
        decreases=tuple(map(relabel, proposal.decreases)),
        increases=tuple(map(relabel, proposal.increases)),
    )


def localised(result: RunResult, lang: str) -> RunResult:
    """`result` as the outputs of `lang` name it (see the module docstring); never mutated."""
    check_lang(lang)
    if result.named_in == lang:  # already as the outputs of `lang` name it
        return result
    result = dataclasses.replace(result, named_in=lang)
    block = (result.summary or {}).get("lifecycle") or {}
    if "lifecycle" in result.flags and not block.get("previous_run"):
        # No earlier round in the store: every flag would read "new", which says nothing.
        result = dataclasses.replace(result, flags=result.flags.drop(columns="lifecycle"))
    info = result.round
    if lang == "vi":  # one label per capital source everywhere: the rules' official one
        official = dict(info.source_labels)
        return dataclasses.replace(
            result,
            plan=_label_frame(result.plan, official),
            flags=_label_frame(result.flags, official),
            proposal=_label_proposal(result.proposal, official),
        )
    labels = {**dict(info.source_labels), **dict(info.source_labels_en)}
    round_en = dataclasses.replace(
        info,
        name=info.name_en or squash(wording(environment(), "round", "en").name(info.number)),
        description=info.description_en or info.description,
        legal_basis=info.legal_basis_en or info.legal_basis,
    )
    summary = dict(result.summary)
    summary["by_capital_source"] = [
        {**entry, "label": labels.get(entry.get("capital_source", ""), entry.get("label"))}
        for entry in result.summary.get("by_capital_source", ())
    ]
    return dataclasses.replace(
        result,
        round=round_en,
        plan=_label_frame(result.plan, labels),
        flags=_label_frame(result.flags, labels),
        summary=summary,
        proposal=_label_proposal(result.proposal, labels),
    )


@functools.lru_cache(maxsize=8)
def _issue_macros(templates_dir: str | None) -> Any:
    return environment(templates_dir).get_template(ISSUES_TEMPLATE).module


def issue_detail(x: Issue, lang: str, templates_dir: str | os.PathLike | None = None) -> str:
    """This occurrence's details in `lang`, from the code's macro in `_issues.j2` ('' if none)."""
    if not x.params:
        return ""
    facts = tuple(sorted((k, v if isinstance(v, str | int) else str(v)) for k, v in x.params.items()))
    return _detail(x.code, facts, lang, None if templates_dir is None else str(templates_dir))


@functools.lru_cache(maxsize=4096)
def _detail(code: str, facts: tuple[tuple[str, Any], ...], lang: str, templates_dir: str | None) -> str:
    """One macro call per distinct (code, facts): a national run has ~10^4 alike notes."""
    macro = getattr(_issue_macros(templates_dir), code.replace("-", "_"), None)
    if not isinstance(macro, jinja2.runtime.Macro):
        return ""
    return squash(macro(lang, dict(facts)))


def issue_text(x: Issue, lang: str = "vi", templates_dir: str | os.PathLike | None = None) -> str:
    """The plain-language text of a data issue in `lang` (see the module docstring)."""
    meaning = lookup(x.code).text(check_lang(lang)).rstrip(".")
    detail = issue_detail(x, lang, templates_dir)
    if lang == "en":
        return f"{meaning}: {detail or x.message}"
    return f"{meaning}: {detail}" if detail else f"{meaning}."
