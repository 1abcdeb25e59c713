"""Render a run into the documents an officer signs: memo, appendix and chart.

`render_outputs(result, out_dir)` writes `to_trinh.docx`, `to_trinh.html`, `to_trinh.md`,
`phu_luc.xlsx` and `bieu_do.png`. Every file is first written to a temp file beside its target;
only when *all five* have been rendered are they renamed into place, so a failure leaves the
folder as it was (no partial file, no mix of old and new). Same input → same bytes: Office zips
get fixed entry times (`files.normalise_zip`), document properties take the memo date, the PNG
carries no date or software stamp.

The memo date is `date` when given, else the round's as-of date plus
`settings.memo_days_after_as_of` days (5 in `rules/settings/son-la.yaml`: 30/6 → 05/7).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from disbursement.config.settings import Settings, load_settings
from disbursement.errors import OutputError
from disbursement.files import atomic_path, confined, normalise_zip
from disbursement.model import RunResult
from disbursement.render.env import (
    check_lang,
    environment,
    override_text,
    reason_codes,
    reason_text,
)

__all__ = [
    "OUTPUT_NAMES",
    "memo_date",
    "override_text",
    "reason_codes",
    "reason_text",
    "render_outputs",
]

OUTPUT_NAMES = {
    "docx": "to_trinh.docx",
    "html": "to_trinh.html",
    "md": "to_trinh.md",
    "xlsx": "phu_luc.xlsx",
    "png": "bieu_do.png",
}


def _settings_for(result: RunResult, settings: Settings | str | os.PathLike | None) -> Settings:
    if isinstance(settings, Settings):
        return settings
    return load_settings(settings, year=result.round.year)


def memo_date(result: RunResult, settings: Settings | str | os.PathLike | None = None) -> dt.date:
    """The default memo date: the round's as-of date + `memo_days_after_as_of` days."""
    from disbursement.render.memo import default_memo_date

    return default_memo_date(result, _settings_for(result, settings))


def render_outputs(
    result: RunResult,
    out_dir: str | os.PathLike,
    *,
    settings: Settings | str | os.PathLike | None = None,
    lang: str = "vi",
    templates_dir: str | os.PathLike | None = None,
    date: dt.date | None = None,
    chart: Callable[[], bytes] | None = None,
) -> dict[str, Path]:
    """Write the memo (.docx, .html, .md), the appendix (.xlsx) and the chart (.png).

    `settings`: a `Settings`, a path to a settings YAML, or None for the shipped
    `rules/settings/son-la.yaml` (resolved for the round's plan year). `templates_dir`: a folder
    searched before the built-in `templates/`. Returns {"docx": path, "html": …, "md": …,
    "xlsx": …, "png": …}. Raises `OutputError` / `SettingsInvalid`; on any error no output
    file is created or changed. `chart` gives the chart's PNG when another process drew it
    (`render.outputs`); by default it is drawn here.
    """
    from disbursement.render.appendix import write_appendix
    from disbursement.render.chart import render_chart
    from disbursement.render.docx import write_docx
    from disbursement.render.memo import (
        build_context,
        default_memo_date,
        render_blocks,
        render_html,
        render_md,
    )

    check_lang(lang)
    resolved = _settings_for(result, settings)
    env = environment(templates_dir)
    day = date if date is not None else default_memo_date(result, resolved)
    if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
        raise OutputError(f"memo date must be a calendar date, got {day!r}")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {out_dir} is not a folder")
    targets = {key: confined(out, name) for key, name in OUTPUT_NAMES.items()}

    context = build_context(result, resolved, lang, day)
    blocks, meta = render_blocks(env, context)
    author = context["s"]["issuer"]["name"]
    words = env.get_template(f"{lang}/phu_luc.j2").make_module(vars={**context, "year": result.round.year})
    tiers = {t["id"]: t["label"] for t in (context["priority"] or {}).get("tiers", ())}

    with contextlib.ExitStack() as stack:
        temps = {key: stack.enter_context(atomic_path(path)) for key, path in targets.items()}
        # The appendix first: it needs no chart, which another process may still be drawing.
        if result.proposal is not None:
            write_appendix(
                result,
                temps["xlsx"],
                words=words,
                lang=lang,
                date=day,
                author=author,
                templates_dir=templates_dir,
                tiers=tiers,
                summaries=resolved.appendix_summaries,
            )
        else:
            _empty_appendix(temps["xlsx"], words, day, author)
        normalise_zip(temps["xlsx"])
        png = chart() if chart is not None else render_chart(result, env, lang)
        temps["png"].write_bytes(png)
        write_docx(
            blocks,
            temps["docx"],
            title=meta["title"],
            author=author,
            date=day,
            lang=lang,
            images={"bieu_do": png},
        )
        normalise_zip(temps["docx"])
        temps["html"].write_text(render_html(env, blocks, meta, context, png), encoding="utf-8")
        temps["md"].write_text(render_md(env, blocks, meta, context, OUTPUT_NAMES["png"]), encoding="utf-8")
    return targets


def _empty_appendix(path: Path, words: Any, day: dt.date, author: str) -> None:
    """No proposal: the title block and a one-line note, so the folder is always complete."""
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(path), {"in_memory": True})
    stamp = dt.datetime(day.year, day.month, day.day, 8, 0, 0)
    workbook.set_properties({"title": str(words.title), "author": author, "created": stamp})
    sheet = workbook.add_worksheet(str(words.sheet_name)[:31])
    sheet.write_string(0, 0, str(words.label))
    sheet.write_string(1, 0, str(words.title))
    sheet.write_string(2, 0, str(words.subtitle))
    workbook.close()
