"""The zip directory of a workbook checked before any parser opens it: a zip bomb, a part that
lies about its size, or a password-protected file is refused with the reason."""

from __future__ import annotations

import contextlib
import os
import struct
import zipfile
import zlib
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from disbursement.errors import InputUnreadable
from disbursement.ingest.sheet import ReadLimits


def check_ahead(paths: Iterable[str | os.PathLike[str]], limits: ReadLimits | None = None) -> None:
    """Start `check_zip` of the zip workbooks among `paths` in a forked child now, so the check
    of a national workbook (~0.1 s: every part inflated) runs on the second core while the
    command imports what a review needs; `check_zip` then takes its verdict instead of
    checking again. (A thread here would wait for the GIL after every inflated piece while
    the imports hold it.)

    A verdict is taken only for the same file unchanged since (path, size, mtime, inode) and
    the same limits; `check_zip` reaps the child first, whatever file it asks about."""
    from disbursement.forked import Job

    limits = limits or ReadLimits()
    given = [(p, key) for p in paths if Path(p).suffix.lower() in ZIP_SUFFIXES and (key := _key(p, limits))]
    if given:
        _AHEAD.append(Job(_verdicts, given, limits, what="the workbook checks"))


def _verdicts(given: list[tuple[Any, tuple]], limits: ReadLimits) -> dict[tuple, BaseException | None]:
    """{file key: the InputUnreadable that refuses it, or None}."""
    verdicts: dict[tuple, BaseException | None] = {}
    for path, key in given:
        try:
            _check_zip(Path(path), limits)
            verdicts[key] = None
        except InputUnreadable as exc:  # raised where the file is checked, as it would be
            verdicts[key] = exc
    return verdicts


ZIP_SUFFIXES = {".xlsx", ".xlsm", ".ods", ".xlsb"}  # the workbooks that are zip files (ingest.read)
_AHEAD: list[Any] = []  # the checks started ahead (forked.Job), not yet taken
_KNOWN: dict[tuple, BaseException | None] = {}  # their verdicts, not yet asked for


def settle() -> None:
    """Stop the checks started ahead that were never taken (the command ended before its
    workbooks were read) and forget their verdicts; idempotent."""
    while _AHEAD:
        _AHEAD.pop().cancel()
    _KNOWN.clear()


def _key(path: str | os.PathLike[str], limits: ReadLimits) -> tuple | None:
    try:
        found = os.stat(path)
    except OSError:
        return None
    return (os.path.realpath(path), str(Path(path)), found.st_size, found.st_mtime_ns, found.st_ino, limits)


def check_zip(path: Path, limits: ReadLimits) -> None:
    """Refuse a zip workbook that no parser may open (InputUnreadable, with the reason)."""
    while _AHEAD:  # every check started ahead is taken, whatever file it checks
        job = _AHEAD.pop()
        with contextlib.suppress(Exception):  # a child that failed gave no verdict: checked here
            _KNOWN.update(job.result())
    key = _key(path, limits)
    if key is not None and key in _KNOWN:
        failure = _KNOWN.pop(key)
        if failure is not None:
            raise failure
        return
    _check_zip(path, limits)


def _check_zip(path: Path, limits: ReadLimits) -> None:
    name = str(path)
    with open(path, "rb") as handle:
        head = handle.read(8)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise InputUnreadable(
            f"{name}: the workbook is password-protected or an old-format file renamed to "
            f"{path.suffix}; save an unprotected copy as .xlsx"
        )
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputUnreadable(
            f"{name}: not a valid {path.suffix} workbook (damaged or truncated: {exc}); "
            "open it in Excel and save it again"
        ) from None
    if len(members) > limits.max_members:
        raise InputUnreadable(
            f"{name}: too many parts in the workbook ({len(members):,}, above the limit of "
            f"{limits.max_members:,}); refusing to open it — open it in Excel and save it again"
        )
    total = sum(m.file_size for m in members)
    if total > limits.max_uncompressed_bytes:
        raise InputUnreadable(
            f"{name}: the workbook would unpack to {total:,} bytes, above the limit of "
            f"{limits.max_uncompressed_bytes:,}; refusing to open it (possible zip bomb) — "
            "ask the sender for the workbook as Excel saved it"
        )
    for member in members:
        if member.file_size > 1_000_000 and member.file_size > limits.max_ratio * max(
            member.compress_size, 1
        ):
            raise InputUnreadable(
                f"{name}: part {member.filename} is compressed "
                f"{member.file_size // max(member.compress_size, 1)}:1, "
                "which no real workbook is; refusing to open it (possible zip bomb) — "
                "ask the sender for the workbook as Excel saved it"
            )
    # The sizes above are only what the directory claims: every part is inflated, in bounded
    # steps, on two threads (zlib works without the GIL); the first lying part in the
    # directory's order is the one named.
    halves = (members[0::2], members[1::2])
    with ThreadPoolExecutor(2) as pool:
        lying = set().union(*pool.map(lambda part: _lying_parts(path, part), halves))
    for member in members:
        if member.filename in lying:
            raise InputUnreadable(
                f"{name}: part {member.filename} unpacks to more than the "
                f"{member.file_size:,} bytes the workbook's directory states; refusing to "
                "open it (damaged or crafted) — ask the sender for the workbook as Excel "
                "saved it"
            )


def _lying_parts(path: Path, members: list[zipfile.ZipInfo]) -> list[str]:
    with open(path, "rb") as handle:
        return [m.filename for m in members if _inflates_beyond(handle, m)]


def _inflates_beyond(handle, member: zipfile.ZipInfo) -> bool:
    """Inflate one deflated part in bounded steps; True if it yields more than it declares.

    Parsers stop at the end of the compressed data, not at the declared size, so a part whose
    directory entry lies about its size would otherwise slip past the limits above.
    """
    if member.compress_type != zipfile.ZIP_DEFLATED or member.flag_bits & 0x1:
        return False
    handle.seek(member.header_offset)
    local = handle.read(30)
    if len(local) < 30 or local[:4] != b"PK\x03\x04":
        return False  # damaged: the parser reports it
    name_len, extra_len = struct.unpack("<HH", local[26:30])
    handle.seek(member.header_offset + 30 + name_len + extra_len)
    inflater = zlib.decompressobj(-15)
    left, produced = member.compress_size, 0
    try:
        while left > 0 and not inflater.eof:
            chunk = handle.read(min(1 << 20, left))
            if not chunk:
                break
            left -= len(chunk)
            while chunk and not inflater.eof:
                produced += len(inflater.decompress(chunk, 1 << 22))
                if produced > member.file_size:
                    return True
                chunk = inflater.unconsumed_tail
    except zlib.error:
        return False  # damaged: the parser reports it
    return False
