"""File helpers: atomic writes, hashing, byte-stable Office zips, --out confinement."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from disbursement.errors import OutputError

_UMASK = os.umask(0o022)
os.umask(_UMASK)

_PACKAGE = Path(__file__).resolve().parent


def default_dir(name: str) -> Path:
    """The built-in `rules/` or `templates/` folder, in a source checkout or an installed wheel.

    The officer edits the top-level `rules/` and `templates/` of the repository; the wheel carries
    the same folders as package data under `disbursement/defaults/` (pyproject's package-dir map),
    so an installed command finds its defaults without the repository.
    """
    packaged = _PACKAGE / "defaults" / name
    return packaged if packaged.is_dir() else _PACKAGE.parent / name


# Fixed zip entry time so the same input gives the same bytes (zip cannot store < 1980).
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temp path beside `target`; rename it over `target` only if the block succeeds.

    `click.open_file(atomic=True)` replaces the target even when the block raises; this does
    not: on any exception the temp file is removed and `target` is left as it was.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    os.chmod(tmp_name, 0o666 & ~_UMASK)  # mkstemp makes 0600; outputs get the usual mode
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def atomic_write_bytes(target: str | os.PathLike, data: bytes) -> None:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(target: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(target, text.encode("utf-8"))


def sha256_file(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def normalise_zip(path: str | os.PathLike) -> None:
    """Rewrite an Office zip (xlsx/docx) in place with fixed entry times and a fixed order.

    openpyxl and python-docx stamp the clock into zip entries; this makes same-input runs
    byte-identical. Entry order is kept (Office needs [Content_Types].xml first).
    """
    path = Path(path)
    with zipfile.ZipFile(path) as source:
        entries = [(info.filename, source.read(info.filename)) for info in source.infolist()]
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            out.writestr(info, data)


def read_yaml(path: str | os.PathLike, what: str, error: type[Exception]):
    """Parsed YAML of a rules, priority or settings file; `error` names the file and the
    problem (not found, unreadable, not YAML) so every loader reports them the same way."""
    import yaml

    source = str(path)
    try:
        # libyaml's parser when the wheel has it (the same safe constructor, ~6× faster: the
        # rules, vocabularies and settings are ~0.3 s of every run in pure Python)
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        return yaml.load(Path(path).read_text(encoding="utf-8"), Loader=loader)
    except FileNotFoundError:
        raise error(f"{what} not found: {source}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{source}: cannot read {what} ({exc})") from None
    except yaml.YAMLError as exc:
        raise error(f"{source}: not valid YAML ({exc})") from None


def confined(out_dir: str | os.PathLike, name: str) -> Path:
    """Path of `name` inside `out_dir`; refuses names that would escape the folder."""
    base = Path(out_dir).resolve()
    candidate = (base / name).resolve()
    if candidate != base and base not in candidate.parents:
        raise OutputError(f"output name {name!r} would be written outside {out_dir}")
    return candidate


def save_workbook(workbook, target: Path) -> None:
    """openpyxl's writer without its clock stamp, zip entries in a canonical order."""
    from openpyxl.writer.excel import ExcelWriter

    buffer = io.BytesIO()
    archive = zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
    ExcelWriter(workbook, archive).save()  # closes the archive; keeps our fixed properties
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as built:
        entries = {info.filename: built.read(info.filename) for info in built.infolist()}
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for name in _entry_order(entries):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            out.writestr(info, entries[name])
    normalise_zip(target)


def _entry_order(names: Iterable[str]) -> list[str]:
    first = [n for n in ("[Content_Types].xml", "_rels/.rels") if n in names]
    return first + sorted(n for n in names if n not in first)
