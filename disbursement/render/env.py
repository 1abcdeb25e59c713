"""The jinja2 environment shared by the memo, the appendix, the chart and the terminal.

Strict (`StrictUndefined`: a missing value fails loudly rather than leaving a blank in a signed
memo), autoescaped for `*.html.j2` only, and searching a user template folder before the
built-in `templates/`. Filters format numbers and dates; wording stays in the templates.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import os
import re
from pathlib import Path
from typing import Any

import jinja2

from disbursement.errors import OutputError
from disbursement.files import default_dir

BUILTIN_TEMPLATES = default_dir("templates")
LANGS = ("vi", "en")
REASONS_TEMPLATE = "_reasons.j2"

_SPACES = re.compile(r"[ \t\r\n]+")
_ROMAN = (
    (1000, "M"),
    (900, "CM"),
    (500, "D"),
    (400, "CD"),
    (100, "C"),
    (90, "XC"),
    (50, "L"),
    (40, "XL"),
    (10, "X"),
    (9, "IX"),
    (5, "V"),
    (4, "IV"),
    (1, "I"),
)
_EN_SWAP = str.maketrans({".": ",", ",": "."})
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


def squash(text: str) -> str:
    """Collapse runs of spaces and line breaks (template layout) into one space."""
    return _SPACES.sub(" ", str(text)).strip()


def roman(number: int) -> str:
    out = []
    for value, letters in _ROMAN:
        count, number = divmod(number, value)
        out.append(letters * count)
    return "".join(out)


def date_parts(day: dt.date) -> dict[str, str]:
    """Decree 30 date parts: day with a leading zero below 10, month with one for 1 and 2."""
    month = f"{day.month:02d}" if day.month < 3 else str(day.month)
    return {"day": f"{day.day:02d}", "month": month, "year": str(day.year)}


def short_date(day: dt.date) -> str:
    """ "05/7/2022", "12/01/2022": the Decree 30 style used in citations and headers."""
    parts = date_parts(day)
    return f"{parts['day']}/{parts['month']}/{parts['year']}"


def in_notation(text: str, lang: str) -> str:
    """A number written the vi-VN way ("1.671,000") in the notation of `lang` ("1,671.000")."""
    return str(text).translate(_EN_SWAP) if lang == "en" else str(text)


def number_filters(lang: str) -> dict:
    """`trieu` (đồng → triệu đồng text), `pct` (ratio text) and `dong`, in `lang` notation."""
    from disbursement.money import format_dong, format_pct, format_trieu

    def localise(text: str) -> str:
        return in_notation(text, lang)

    return {
        "trieu": lambda dong, decimals=3: localise(format_trieu(int(dong), decimals)),
        "dong": lambda dong: localise(format_dong(int(dong))),
        "pct": lambda num, den, decimals=2: localise(format_pct(int(num), int(den), decimals)),
    }


def md_escape(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", str(text))


CACHE_ENV = "DISBURSEMENT_CACHE_DIR"  # where compiled templates are kept; "off": nowhere


class _TemplateCache(jinja2.FileSystemBytecodeCache):
    """Compiled templates kept between runs: Jinja compiling the same templates was ~0.2 s of
    every run. Each entry is keyed by its template's source checksum (an edited template is
    compiled again); a cache that cannot be read or written only makes the run slower."""

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except Exception:  # unreadable or damaged (pickle, marshal): compiled again
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)


# The environment's options. The compiled code depends on them besides a template's source,
# so they key the cache folder with Jinja's version: other options never reuse an entry.
_OPTIONS = {"keep_trailing_newline": True, "trim_blocks": True, "lstrip_blocks": True}
_ESCAPED = ("html.j2",)  # autoescaped template suffixes
_CACHE_KEY = hashlib.sha256(
    repr((jinja2.__version__, sorted(_OPTIONS.items()), _ESCAPED)).encode()
).hexdigest()[:12]


def _template_cache() -> jinja2.BytecodeCache | None:
    """The cache folder, or None (no cache) when it is switched off, cannot be made, or is not
    this user's alone: loading an entry runs its code, so a folder others can write to is
    never used (as Jinja's own default cache checks)."""
    chosen = os.environ.get(CACHE_ENV, "")
    if chosen == "off":
        return None
    try:  # Path.home() raises RuntimeError for a user without a home (a bare container)
        root = Path(chosen or os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        folder = root / "disbursement" / f"templates-{_CACHE_KEY}"
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        mode = folder.stat()
    except (OSError, RuntimeError):
        return None
    if mode.st_uid != os.getuid() or mode.st_mode & 0o077:
        return None
    return _TemplateCache(str(folder))


@functools.lru_cache(maxsize=16)
def _environment(user_dir: str | None) -> jinja2.Environment:
    search = [user_dir] if user_dir else []
    search.append(str(BUILTIN_TEMPLATES))
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(search),
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(
            enabled_extensions=_ESCAPED, default_for_string=False, default=False
        ),
        keep_trailing_newline=_OPTIONS["keep_trailing_newline"],
        trim_blocks=_OPTIONS["trim_blocks"],
        lstrip_blocks=_OPTIONS["lstrip_blocks"],
        bytecode_cache=_template_cache(),
    )
    env.filters.update(
        roman=roman,
        short_date=short_date,
        date_parts=date_parts,
        squash=squash,
        md=md_escape,
        sentence=lambda text: str(text).strip().rstrip(".;,:").strip(),
    )
    return env


def environment(templates_dir: str | os.PathLike | None = None) -> jinja2.Environment:
    """The strict environment; `templates_dir` (if given) is searched before `templates/`."""
    if templates_dir is not None and not Path(templates_dir).is_dir():
        raise OutputError(f"template folder not found: {templates_dir}")
    return _environment(str(Path(templates_dir).resolve()) if templates_dir else None)


def check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise OutputError(f"unknown language {lang!r} (known: {', '.join(LANGS)})")
    return lang


def reason_codes(templates_dir: str | os.PathLike | None = None) -> list[str]:
    """Every reason code that has wording (one macro each in `templates/_reasons.j2`)."""
    module = environment(templates_dir).get_template(REASONS_TEMPLATE).module
    return sorted(
        name
        for name in dir(module)
        if name.isupper() and isinstance(getattr(module, name), jinja2.runtime.Macro)
    )


def reason_text(
    code: str,
    lang: str = "vi",
    *,
    templates_dir: str | os.PathLike | None = None,
    **details,
) -> str:
    """The wording of a reason code, as the memo, the appendix and the terminal show it.

    `details` are optional facts some reasons cite (`rate`, `threshold`, `as_of`); a reason
    without them still reads as a whole sentence. An unknown code is an `OutputError`.
    """
    check_lang(lang)
    module = environment(templates_dir).get_template(REASONS_TEMPLATE).module
    macro = getattr(module, str(code), None) if str(code).isidentifier() else None
    if not isinstance(macro, jinja2.runtime.Macro):
        raise OutputError(
            f"no wording for reason code {code!r}: add "
            f"{{% macro {code}(lang, d) %}}…{{% endmacro %}} to templates/{REASONS_TEMPLATE}"
        )
    return squash(macro(lang, details))


def override_text(override: dict, lang: str = "vi", *, templates_dir: str | os.PathLike | None = None) -> str:
    """Wording of an applied override (its reason and approver) for the appendix's Ghi chú."""
    module = environment(templates_dir).get_template(REASONS_TEMPLATE).module
    note: Any = module  # a template module's macros are attributes jinja2 does not declare
    return squash(note.override_note(lang, dict(override)))
