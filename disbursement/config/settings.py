"""Organisation settings: who issues the memo, who signs it, whom it goes to, what it cites.

`load_settings(path, year=2022)` reads `rules/settings/son-la.yaml` (or the given file) strictly:
an unknown key is a `SettingsInvalid` naming the file and the key path (`issuers[0].signer.nmae`).
The issuing body, its signer, recipients and legal bases are chosen by plan year (R-LAW-1,
R-MEMO-2): the first `issuers` entry whose `from_year`/`to_year` (inclusive, either may be omitted)
covers the year. A text value is a string or a `{vi: …, en: …}` mapping (`Text`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from disbursement.errors import SettingsInvalid
from disbursement.files import default_dir, read_yaml

DEFAULT_SETTINGS = default_dir("rules") / "settings" / "son-la.yaml"
LANGS = ("vi", "en")


@dataclass(frozen=True, slots=True)
class Text:
    """A wording in Vietnamese with an optional English rendering (falls back to Vietnamese)."""

    vi: str
    en: str | None = None

    def get(self, lang: str) -> str:
        return self.en if lang == "en" and self.en is not None else self.vi


@dataclass(frozen=True, slots=True)
class Signer:
    title: Text
    deputy: bool
    name: str


@dataclass(frozen=True, slots=True)
class Issuer:
    parent: Text
    name: Text
    code: str
    decider: Text | None
    signer: Signer
    recipients: tuple[Text, ...]
    drafting_unit: str
    legal_bases: tuple[Text, ...]
    from_year: int | None = None
    to_year: int | None = None
    # Capital source id → what becomes of its recalled capital that no project can receive
    # (e.g. central-budget capital reported back to the centre); others go to `reserve`.
    returned_to: tuple[tuple[str, Text], ...] = ()


@dataclass(frozen=True, slots=True)
class Settings:
    """Settings resolved for one plan year (`issuer` and `legal_bases` already chosen)."""

    source: str
    year: int
    province: Text
    place: str
    addressee: Text
    addressee_short: Text
    reserve: Text
    document_number: str
    memo_days_after_as_of: int
    issuer: Issuer
    legal_bases: tuple[Text, ...]  # issuer's bases, then the plan year's
    # Summary sheets the appendix (phu_luc.xlsx) carries besides its table: "investor", "area".
    appendix_summaries: tuple[str, ...] = ()

    def for_lang(self, lang: str) -> dict:
        """Plain strings for the templates, in `lang`."""
        if lang not in LANGS:
            raise SettingsInvalid(f"unknown language {lang!r} (known: {', '.join(LANGS)})")
        issuer = self.issuer
        return {
            "province": self.province.get(lang),
            "place": self.place,
            "addressee": self.addressee.get(lang),
            "addressee_short": self.addressee_short.get(lang),
            "reserve": self.reserve.get(lang),
            "document_number": self.document_number,
            "issuer": {
                "parent": issuer.parent.get(lang),
                "name": issuer.name.get(lang),
                "code": issuer.code,
                "decider": issuer.decider.get(lang) if issuer.decider else None,
            },
            "signer": {
                "title": issuer.signer.title.get(lang),
                "deputy": issuer.signer.deputy,
                "name": issuer.signer.name,
            },
            "recipients": [r.get(lang) for r in issuer.recipients],
            "drafting_unit": issuer.drafting_unit,
            "legal_bases": [b.get(lang) for b in self.legal_bases],
            "returned_to": {source: text.get(lang) for source, text in issuer.returned_to},
        }


_TOP = {
    "province": True,
    "place": True,
    "addressee": True,
    "addressee_short": True,
    "reserve": True,
    "document_number": False,
    "memo_days_after_as_of": False,
    "issuers": True,
    "plan_years": False,
    "appendix_summaries": False,
}
APPENDIX_SUMMARIES = ("investor", "area")
_ISSUER = {
    "from_year": False,
    "to_year": False,
    "parent": True,
    "name": True,
    "code": True,
    "decider": False,
    "signer": True,
    "recipients": False,
    "drafting_unit": True,
    "legal_bases": False,
    "returned_to": False,
}
_SIGNER = {"title": True, "deputy": True, "name": True}
_PLAN_YEAR = {"legal_bases": False}


class _Reader:
    def __init__(self, source: str):
        self.source = source

    def fail(self, where: str, message: str) -> SettingsInvalid:
        return SettingsInvalid(f"{self.source}: {where}: {message}")

    def mapping(self, value, where: str, keys: dict[str, bool]) -> dict:
        if not isinstance(value, dict):
            raise self.fail(where or "(top level)", "expected a mapping")
        for key in value:
            if key not in keys:
                path = f"{where}.{key}" if where else str(key)
                known = ", ".join(keys)
                raise self.fail(path, f"unknown key (known keys here: {known})")
        for key, required in keys.items():
            if required and key not in value:
                path = f"{where}.{key}" if where else key
                raise self.fail(path, "missing required key")
        return value

    def string(self, value, where: str) -> str:
        if not isinstance(value, str):
            raise self.fail(where, f"expected text, got {type(value).__name__}")
        return value

    def integer(self, value, where: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(where, f"expected a whole number, got {value!r}")
        return value

    def text(self, value, where: str) -> Text:
        if isinstance(value, str):
            return Text(value)
        self.mapping(value, where, {"vi": True, "en": False})
        en = value.get("en")
        return Text(
            self.string(value["vi"], f"{where}.vi"),
            None if en is None else self.string(en, f"{where}.en"),
        )

    def texts(self, value, where: str) -> tuple[Text, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            raise self.fail(where, "expected a list")
        return tuple(self.text(item, f"{where}[{i}]") for i, item in enumerate(value))

    def issuer(self, value, where: str) -> Issuer:
        self.mapping(value, where, _ISSUER)
        signer = self.mapping(value["signer"], f"{where}.signer", _SIGNER)
        deputy = signer["deputy"]
        if not isinstance(deputy, bool):
            raise self.fail(f"{where}.signer.deputy", "expected true or false")
        decider = value.get("decider")
        returned = value.get("returned_to") or {}
        if not isinstance(returned, dict):
            raise self.fail(f"{where}.returned_to", "expected a mapping of capital source id → text")
        years = {}
        for key in ("from_year", "to_year"):
            raw = value.get(key)
            years[key] = None if raw is None else self.integer(raw, f"{where}.{key}")
        return Issuer(
            parent=self.text(value["parent"], f"{where}.parent"),
            name=self.text(value["name"], f"{where}.name"),
            code=self.string(value["code"], f"{where}.code"),
            decider=None if decider is None else self.text(decider, f"{where}.decider"),
            signer=Signer(
                title=self.text(signer["title"], f"{where}.signer.title"),
                deputy=deputy,
                name=self.string(signer["name"], f"{where}.signer.name"),
            ),
            recipients=self.texts(value.get("recipients"), f"{where}.recipients"),
            drafting_unit=self.string(value["drafting_unit"], f"{where}.drafting_unit"),
            legal_bases=self.texts(value.get("legal_bases"), f"{where}.legal_bases"),
            returned_to=tuple(
                (str(k), self.text(v, f"{where}.returned_to.{k}")) for k, v in returned.items()
            ),
            **years,
        )


def load_settings(path: str | os.PathLike | None = None, *, year: int) -> Settings:
    """Read an organisation settings file strictly and resolve it for plan `year`."""

    file = Path(path) if path is not None else DEFAULT_SETTINGS
    source = str(file)
    raw = read_yaml(file, "settings file", SettingsInvalid)
    read = _Reader(source)
    read.mapping(raw, "", _TOP)
    if not isinstance(raw["issuers"], list) or not raw["issuers"]:
        raise read.fail("issuers", "expected a non-empty list")
    issuers = [read.issuer(item, f"issuers[{i}]") for i, item in enumerate(raw["issuers"])]
    plan_years = raw.get("plan_years") or {}
    if not isinstance(plan_years, dict):
        raise read.fail("plan_years", "expected a mapping of year → settings")
    year_bases: tuple[Text, ...] = ()
    for key, block in plan_years.items():
        where = f"plan_years.{key}"
        read.integer(key, where)
        read.mapping(block, where, _PLAN_YEAR)
        bases = read.texts(block.get("legal_bases"), f"{where}.legal_bases")
        if key == year:
            year_bases = bases
    issuer = next(
        (
            item
            for item in issuers
            if (item.from_year is None or item.from_year <= year)
            and (item.to_year is None or year <= item.to_year)
        ),
        None,
    )
    if issuer is None:
        raise read.fail("issuers", f"no issuer covers plan year {year}")
    days = raw.get("memo_days_after_as_of", 5)
    summaries = raw.get("appendix_summaries") or []
    if not isinstance(summaries, list) or any(x not in APPENDIX_SUMMARIES for x in summaries):
        raise read.fail("appendix_summaries", f"expected a list of: {', '.join(APPENDIX_SUMMARIES)}")
    return Settings(
        source=source,
        year=year,
        province=read.text(raw["province"], "province"),
        place=read.string(raw["place"], "place"),
        addressee=read.text(raw["addressee"], "addressee"),
        addressee_short=read.text(raw["addressee_short"], "addressee_short"),
        reserve=read.text(raw["reserve"], "reserve"),
        document_number=read.string(raw.get("document_number", "…"), "document_number"),
        memo_days_after_as_of=read.integer(days, "memo_days_after_as_of"),
        issuer=issuer,
        legal_bases=issuer.legal_bases + year_bases,
        appendix_summaries=tuple(summaries),
    )
