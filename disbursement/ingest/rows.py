"""Classify the rows under a header and carry group context down to project rows.

Official appendices mix project rows with a grand total, capital-source groups (I, II …),
status groups ("1. Dự án chuyển tiếp"), sector groups, subtotals, footnotes and signature
rows. Only project rows become plan lines; group rows give them their capital source,
status and sector; subtotals are checked against their children, never trusted.
"""

from __future__ import annotations

import re
import unicodedata

from disbursement.ingest.statuses import load_statuses
from disbursement.ingest.tokens import canonical
from disbursement.text import _UNICODE_ONLY, fold, repair_text

ROMAN = re.compile(r"^(?=[ivxlc]+$)c{0,3}(xc|xl|l?x{0,3})(ix|iv|v?i{0,3})$")
LETTER = re.compile(r"^[a-h]$")
ARABIC = re.compile(r"^\d+(\.\d+)*\.?$")
# A group label written with its ordinal in the name cell and no STT ("A. LĨNH VỰC GIAO THÔNG").
INLINE_ORDINAL = re.compile(r"^(?P<ord>[ivxlc]+|[a-h]|\d{1,2}(\.\d{1,2})*)[.)]\s+(?P<rest>\S.*)$")
# A lower-case lettered sub-item ("a)", "(b)") directly under a project: a part of it.
SUB_ITEM = re.compile(r"^\(?[a-zđ]\)$")
# A column-ordinal row ("1 2 3 …", "(1) (2) …") or a repeated header row inside the table.
ORDINAL_ONLY = re.compile(r"^\(?\d{1,2}\)?$")
COMPONENT = {"-", "+", "*", "–", "•"}
TOTAL = re.compile(r"^(tong so|tong cong)\b|^(cong|tong)\s*(:|\(|$)|^cong (cac|nhom|nguon|von)\b")
FOOTNOTE = re.compile(r"^(ghi chu|\(\*\)|\*|nguon( so lieu)?:|luu y|chu thich)")
SIGNATURE = re.compile(
    r"^(nguoi lap( bieu)?|giam doc|pho giam doc|kt\.? ?giam doc|tm\.|kt\.|tl\.|tuq\.|q\. |"
    r"thu truong|ke toan truong|xac nhan|noi nhan|chu tich|pho chu tich|truong phong|"
    r"nguoi kiem tra|kiem soat)"
)
# "Sơn La, ngày 05 tháng 10 năm 2022", "ngày … tháng … năm 2022": the place-and-date line.
PLACE_DATE = re.compile(r"^([^\d,;:]{2,40},\s*)?ngay\b[\s\d./…-]*thang\b[\s\d./…-]*nam\b")
# What follows a status phrase in a project's own name ("Chuẩn bị đầu tư dự án Cầu Tạ Khoa")
# but not in a group label ("Chuẩn bị đầu tư các dự án", "… năm 2022", "… sang năm 2022").
GROUP_TAIL = re.compile(
    r"^(cac|nhung|nam|sang|giai doan|khac|va |thuoc|cua|tu |den |\(|-|:)|"
    r"\b(hoan thanh|chuyen tiep|khoi cong moi|nam 20\d\d|giai doan|ban giao|"
    r"dua vao su dung)\b"
)
STATUS_PHRASES, STATUS_VALUES, NOTE_STATUS = load_statuses()
UNKNOWN_SOURCE = "?"  # value of a source group row whose label names no source of the rules
SOURCE_START = re.compile(r"^(von|nguon|ngan sach|ns|chuong trinh|ct)")
SECTOR_START = re.compile(r"^(linh vuc|nganh)\b")
_SECTOR_WORD = (
    r"(giao thong|van tai|nong nghiep|lam nghiep|thuy loi|thuy san|phat trien nong thon|ptnt|"
    r"giao duc( nghe nghiep)?|dao tao|day nghe|y te|dan so|van hoa|the duc the thao|the thao|du lich|"
    r"thong tin|truyen thong|phat thanh|truyen hinh|quoc phong|an ninh|quan ly nha nuoc|khoa hoc|"
    r"cong nghe( thong tin)?|moi truong|tai nguyen|xa hoi|bao tro xa hoi|cong nghiep|thuong mai|"
    r"do thi|cap thoat nuoc|ha tang ky thuat|kinh te|cac hoat dong kinh te|khac)"
)
# A sector group written as the bare sector name ("1 | Giao thông", "Giáo dục và đào tạo").
SECTOR_NAME = re.compile(rf"^((linh vuc|nganh) )?{_SECTOR_WORD}((,| va| -|;)? {_SECTOR_WORD})*$")
SOURCE_WORDS = re.compile(r"^(nguon von|nguon|von)\s+")
ORDINAL_PREFIX = re.compile(r"^(\(?[0-9a-z]{1,4}[.)]\s+|[ivx]+[.)]?\s+)")


def status_rest(text: str) -> str:
    """The words after the status phrase a label starts with ("" when none)."""
    folded = ORDINAL_PREFIX.sub("", canonical(text, "status")).strip()
    for pattern, _status in STATUS_PHRASES:
        if found := pattern.match(folded):
            return folded[found.end() :].strip(" .,;:")
    return ""


def project_like(text: str) -> bool:
    """A status phrase followed by a project's own name: at least three words that do not read
    as a group label ("Chuẩn bị đầu tư dự án Đường nối QL6 - QL279" is a project)."""
    rest = status_rest(text)
    return len(rest.split()) >= 3 and not GROUP_TAIL.search(rest)


def _children_follow(stt: str, following: str) -> bool:
    """The next numbered row is a child of this one: "2" → "2.1", or "3" → "1" again."""
    own = stt.rstrip(".")
    return following.startswith(own + ".") or (following.rstrip(".") == "1" and own != "0")


def status_from_text(text: str) -> str | None:
    """Status named by a group row ("1. Dự án chuyển tiếp") or a status cell ("KCM", "DA CT"):
    the text as written (abbreviations are expanded here; folded text works too)."""
    text = ORDINAL_PREFIX.sub("", canonical(text, "status")).strip()
    if text in STATUS_VALUES:
        return STATUS_VALUES[text]
    for pattern, status in STATUS_PHRASES:
        if pattern.match(text):
            return status
    return None


def status_in_note(text: str) -> str | None:
    """The one status a note names, or None (none, or two different ones)."""
    folded = canonical(text, "status")
    found = {status for pattern, status in NOTE_STATUS if pattern.search(folded)}
    return found.pop() if len(found) == 1 else None


class SourceMatcher:
    """Capital-source vocabulary from the rules: first source with a contained alias wins.
    Labels and aliases are compared as canonical text (abbreviations expanded), so "Tien SDD"
    finds the alias "tiền sử dụng đất" and "Can doi NSDP" finds "cân đối ngân sách địa phương"."""

    def __init__(self, sources):
        self.entries = [
            (s.id, list(dict.fromkeys(canonical(a, "source") for a in (s.label, *s.aliases))))
            for s in sources
        ]
        self._cache: dict[str, str | None] = {}

    def match(self, text: str) -> str | None:
        if text not in self._cache:
            folded = canonical(text, "source")
            found = None
            for source_id, aliases in self.entries:
                if any(re.search(rf"(?<!\w){re.escape(a)}(?!\w)", folded) for a in aliases):
                    found = source_id
                    break
            self._cache[text] = found
        return self._cache[text]

    def names_only(self, folded: str) -> bool:
        """The whole label is a source name: "Xổ số kiến thiết", "Vốn XSKT", "NSTW"."""
        text = SOURCE_WORDS.sub("", canonical(folded, "source")).strip(" .:;-()")
        return any(
            text == a or text == SOURCE_WORDS.sub("", a) for _id, aliases in self.entries for a in aliases
        )


def _fast_fold(text: str) -> str:
    """`fold` with a shortcut for ASCII text (STT "1", "II", project codes): for ASCII, NFC,
    case folding and accent stripping reduce to `lower()`, so the result is the same."""
    return " ".join(text.lower().split()) if text.isascii() else fold(text)


def classify(
    stt: list[str], names: list[str], codes: list[str], has_amount: list[bool], sources: SourceMatcher
) -> tuple[list[str], list[str | None]]:
    """Class of every row and, for group rows, what they set (source id, status, sector).

    Returns (classes, values): classes are "project", "component", "total", "subtotal",
    "source_group", "status_group", "sector_group", "footnote", "signature", "ordinal" (a
    repeated header or ordinal row), "empty", "after_table"; values hold the source id /
    status / label the group row sets.
    """
    fold = _fast_fold  # this loop folds every STT and code: most are ASCII
    folded_stt = {s: fold(s) for s in dict.fromkeys(stt)}  # STT repeats: "1", "2", "I", …
    classes: list[str] = []
    values: list[str | None] = []
    seen_project = ended = False
    in_project = False
    # STT of the next row that has one: "1" followed by "1.1" is a group over its children.
    next_stt: list[str] = []
    following = ""
    for s in reversed(stt):
        next_stt.append(following)
        following = folded_stt[s].strip("(). ") if s else following
    next_stt.reverse()
    for s, name, code, amount, after in zip(stt, names, codes, has_amount, next_stt, strict=True):
        if ended:
            classes.append("after_table")
            values.append(None)
            continue
        if not (s or name or code):
            classes.append("orphan" if amount else "empty")
            values.append(None)
            continue
        fs = folded_stt[s]
        if fs in ("stt", "tt") or (
            ORDINAL_ONLY.match(s.strip())
            and ORDINAL_ONLY.match(name.strip())
            and (not code or ORDINAL_ONLY.match(code.strip()))
        ):
            classes.append("ordinal")  # a page's repeated header or ordinal row, not data
            values.append(None)
            continue
        if code and (
            len(code.split()) > 4 or FOOTNOTE.match(folded := fold(code)) or SIGNATURE.match(folded)
        ):
            name, code = name or code, ""  # a note typed across the code column is not a code
        label = name or s
        fl = fold(label) if not (code and ARABIC.match(s)) else ""
        if not fs and not code and (inline := INLINE_ORDINAL.match(fl)):
            fs, fl = inline["ord"], inline["rest"]
        elif fs not in COMPONENT:
            fs = fs.strip("(). ")  # "I.", "A.", "a)", "(1)" → the bare ordinal
        kind, value = "project", None
        if code and (ARABIC.match(fs) or not fs):
            kind = "project"
        elif FOOTNOTE.match(fl) or SIGNATURE.match(fl) or PLACE_DATE.match(fl):
            kind = "footnote" if FOOTNOTE.match(fl) else "signature"
            if seen_project:
                ended = True
        elif TOTAL.match(fl) or TOTAL.match(fs):
            kind = "subtotal" if seen_project else "total"
        elif fs in COMPONENT:
            kind = "component" if in_project else "project"
        elif (
            not code
            and (status := status_from_text(label if fl else fl))
            and not (amount and ARABIC.match(fs) and project_like(label) and not _children_follow(fs, after))
        ):
            # A group by its wording, unless a numbered row with amounts goes on with a
            # project's own name and the rows below are not its children ("2" → "2.1" or a
            # numbering that starts again at "1").
            kind, value = "status_group", status
        elif in_project and not code and SUB_ITEM.match(s.strip()):
            kind = "component"
        elif (
            not code
            and (ROMAN.match(fs) or LETTER.match(fs) or SOURCE_START.match(fl) or sources.names_only(fl))
            and (source := sources.match(label))
        ):
            kind, value = "source_group", source
        elif not code and (ROMAN.match(fs) or LETTER.match(fs)) and SOURCE_START.match(fl):
            # "II. Vốn huy động khác": a source group the rules do not name. Its lines must not
            # inherit the previous group's source.
            kind, value = "source_group", UNKNOWN_SOURCE
        elif not code and (
            ROMAN.match(fs)
            or LETTER.match(fs)
            or SECTOR_START.match(fl)
            or SECTOR_NAME.match(fl)
            or (ARABIC.match(fs) and after.startswith(fs.rstrip(".") + "."))
        ):
            kind, value = "sector_group", label
        elif not name:
            kind = "empty" if not amount else "orphan"
        if kind == "project":
            seen_project = in_project = True
        elif kind != "component":
            in_project = False
        classes.append(kind)
        values.append(value)
    return classes, values


# A letter only Unicode Vietnamese has (ă, đ, ơ, ư, ạ …): such text is never legacy mojibake.
_UNICODE_ONLY_RE = re.compile("[" + re.escape("".join(sorted(_UNICODE_ONLY))) + "]")


def _repair(text: str, legacy: str | None) -> str:
    """`repair_text` of a stripped cell text, without its per-cell legacy detection when the
    text is ASCII or (in NFC) holds a Unicode-only letter: repair_text returns it as is."""
    if not legacy:
        if text.isascii():
            return text
        nfc = unicodedata.normalize("NFC", text)
        if _UNICODE_ONLY_RE.search(nfc):
            return nfc
    return repair_text(text, legacy)


_TEXT_CELLS = {str, type(None)}


def text_column(values, legacy: str | None) -> list[str]:
    """The cells of a text column as clean Unicode text (legacy encodings repaired, numbers as
    officers read them); each distinct text is repaired once."""
    if set(map(type, values)) <= _TEXT_CELLS:  # the usual column: one pass per distinct text
        clean = {v: _repair(v.strip(), legacy) for v in dict.fromkeys(values) if v}
        clean[""] = clean[None] = ""
        return list(map(clean.__getitem__, values))
    out: list[str] = []
    append = out.append
    repaired: dict[str, str] = {}  # each distinct text is repaired once
    for v in values:
        if v is None or v == "":
            append("")
        elif type(v) is str:
            text = repaired.get(v)
            if text is None:
                text = repaired[v] = _repair(v.strip(), legacy)
            append(text)
        elif isinstance(v, float):
            append(str(int(v)) if v.is_integer() else repr(v))
        else:
            text = str(v).strip()
            append(repair_text(text, legacy) if legacy or not text.isascii() else text)
    return out
