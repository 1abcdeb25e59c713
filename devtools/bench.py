"""`make bench`: how fast a review round runs, measured against the bare read of the same workbook.

Generates (seeded, cached under ``build/bench/``) a provincial workbook of 1k project lines on one
sheet and national workbooks of 10k and 100k lines (300k on request) over 63 sheets, all in the
official layout (`devtools.samples`), then measures each in fresh processes, several times, and
reports the median wall time, CPU time (user + system) and peak RSS of:

(a) ``read``     the bare fastest raw read: fastexcel (or python-calamine) loading every sheet,
                 no processing — the floor;
(b) ``audit``    ``disbursement review FILE --round 1 --year 2022 --json --audit-db STORE``: the
                 path users run (recorded in the audit store). The repetitions share one store,
                 so from the second on the history comparison runs too;
(c) ``json``     the same with ``--no-audit``;
(d) ``out``      ``… --out DIR --audit-db STORE``: every output file plus the audit record;
(e) ``help``     ``disbursement --help``.

It prints the table with each step's ratio to the floor measured in the same run, the 10×
scaling ratio and the target checks of issue #16, and writes the result into
``docs/benchmarks.md`` between the ``bench:start`` / ``bench:end`` markers (the notes around them
are kept). ``--writers`` also times each xlsx writer against xlsxwriter writing the same cells
bare. ``BENCH_REPEAT`` (default 3) and ``BENCH_SIZES`` (default ``1k,10k,100k``; add ``300k``)
shrink or grow the run, as do ``--repeat`` and ``--sizes``. The machine's load average is
recorded around every workbook: compare figures of one run, not across runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

SEED = 79  # QĐ 79/QĐ-UBND
YEAR = 2022
AS_OF = dt.date(2022, 6, 30)
NATIONAL_SHEETS = 63
PROVINCIAL_MAX = 5_000  # up to this many lines: one provincial sheet; above: 63 sheets
DEFAULT_SIZES = "1k,10k,100k"
CACHE = Path("build/bench")
DOC = Path("docs/benchmarks.md")
START, END = "<!-- bench:start -->", "<!-- bench:end -->"
LIBRARIES = (
    "pandas",
    "numpy",
    "pandera",
    "python-calamine",
    "fastexcel",
    "xlsxwriter",
    "openpyxl",
    "python-docx",
    "matplotlib",
    "click",
)

# (a): the floor. Each loads every sheet of the workbook and nothing else.
RAW_READERS = {
    "fastexcel": (
        "import sys, fastexcel\n"
        "reader = fastexcel.read_excel(sys.argv[1])\n"
        "for name in reader.sheet_names:\n"
        "    reader.load_sheet(name, header_row=None).__arrow_c_array__()\n"
    ),
    "python-calamine": (
        "import sys, python_calamine\n"
        "book = python_calamine.load_workbook(sys.argv[1])\n"
        "for name in book.sheet_names:\n"
        "    book.get_sheet_by_name(name).to_python(skip_empty_area=False)\n"
    ),
}

# Issue #16's targets, on the largest national workbook of the run (ratios: wall ÷ the floor).
TARGETS = {
    "audit": 3.0,  # audited review --json (the gate); stretch 2.0
    "audit_stretch": 2.0,
    "json": 2.5,  # --no-audit
    "out": 8.0,  # --out, every output and the audit record
    "rss_mb": 400,  # audited review --json
    "scale": 10.0,  # 10× the lines → at most 10× the time
    "help": 0.15,  # seconds
    "provincial_out": 1.5,  # seconds, wall
    "writer_overhead": 0.20,  # over xlsxwriter writing the same cells (--writers)
}
STEPS = (
    ("read", "(a) raw read ({})"),
    ("audit", "(b) review --json (audited)"),
    ("json", "(c) review --json --no-audit"),
    ("out", "(d) review --out + audit"),
)


@dataclass(frozen=True)
class Workbook:
    lines: int
    sheets: int
    path: Path

    @property
    def label(self) -> str:
        kind = "provincial" if self.sheets == 1 else "national"
        return f"{kind} {_size_text(self.lines)}"


@dataclass
class Sample:
    wall: float
    cpu: float
    rss_mb: float


@dataclass
class Stat:
    name: str = ""
    samples: list[Sample] = field(default_factory=list)

    @property
    def wall(self) -> float:
        return statistics.median(s.wall for s in self.samples)

    @property
    def cpu(self) -> float:
        return statistics.median(s.cpu for s in self.samples)

    @property
    def rss_mb(self) -> float:
        return max(s.rss_mb for s in self.samples)


# ---------------------------------------------------------------- workbooks


def parse_sizes(text: str) -> list[int]:
    """ "1k,10k,100k" → [1000, 10000, 100000]; plain numbers are accepted too."""
    sizes = []
    for token in text.replace(" ", "").split(","):
        if not token:
            continue
        factor = 1000 if token.lower().endswith("k") else 1
        number = int(token[:-1] if factor > 1 else token) * factor
        if number < 1:
            raise ValueError(f"bench size must be at least 1 line, got {token!r}")
        sizes.append(number)
    if not sizes:
        raise ValueError("no bench size given")
    return sizes


def _size_text(lines: int) -> str:
    return f"{lines // 1000}k" if lines % 1000 == 0 else str(lines)


def _generator_stamp(lines: int, sheets: int) -> dict:
    from devtools import samples

    source = Path(samples.__file__).read_bytes()
    return {
        "seed": SEED,
        "lines": lines,
        "sheets": sheets,
        "year": YEAR,
        "as_of": AS_OF.isoformat(),
        "samples_sha256": hashlib.sha256(source).hexdigest(),
    }


def ensure_workbook(lines: int, cache: Path = CACHE) -> Workbook:
    """The cached workbook of `lines` project lines, generated when missing or stale."""
    from devtools.samples import generate_national, generate_projects, write_official_workbook

    sheets = 1 if lines <= PROVINCIAL_MAX else NATIONAL_SHEETS
    kind = "province" if sheets == 1 else "national"
    path = cache / f"{kind}-{_size_text(lines)}.xlsx"
    stamp_path = path.with_suffix(".json")
    stamp = _generator_stamp(lines, sheets)
    if path.exists() and stamp_path.exists():
        try:
            if json.loads(stamp_path.read_text(encoding="utf-8")) == stamp:
                return Workbook(lines, sheets, path)
        except ValueError:
            pass
    cache.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    print(f"generating {path} ({lines:,} lines, {sheets} sheet(s)) …", flush=True)
    if sheets == 1:
        write_official_workbook(path, generate_projects(SEED, lines, YEAR), year=YEAR, as_of=AS_OF)
    else:
        write_official_workbook(
            path, None, year=YEAR, as_of=AS_OF, sheets=generate_national(SEED, lines, sheets, YEAR)
        )
    stamp_path.write_text(json.dumps(stamp, indent=1) + "\n", encoding="utf-8")
    print(f"  done in {time.perf_counter() - started:.1f} s", flush=True)
    return Workbook(lines, sheets, path)


# ---------------------------------------------------------------- measuring


# Runs the measured command and reports its wall time, CPU time and peak RSS. A separate small
# launcher keeps the bench's own memory out of the child's peak RSS (a forked child inherits its
# parent's high-water mark until exec).
LAUNCHER = """\
import json, os, subprocess, sys, time
started = time.perf_counter()
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_pid, status, usage = os.wait4(child.pid, 0)
print(json.dumps({"wall": time.perf_counter() - started, "cpu": usage.ru_utime + usage.ru_stime,
                  "rss_kb": usage.ru_maxrss, "code": os.waitstatus_to_exitcode(status)}))
"""


def run_once(argv: Sequence[str]) -> Sample:
    """Run `argv` in a fresh process; its wall time, CPU time (user + system) and peak RSS."""
    with tempfile.TemporaryFile() as err:
        done = subprocess.run(
            [sys.executable, "-c", LAUNCHER, *argv], stdout=subprocess.PIPE, stderr=err, check=False
        )
        try:
            measured = json.loads(done.stdout.decode().strip().splitlines()[-1])
        except (IndexError, ValueError):
            measured = {"code": done.returncode}
        if done.returncode != 0 or measured["code"] != 0:
            err.seek(0)
            tail = err.read().decode("utf-8", "replace")[-2000:]
            raise RuntimeError(f"{' '.join(argv)} exited {measured['code']}:\n{tail}")
    return Sample(measured["wall"], measured["cpu"], measured["rss_kb"] / 1024)


def _cli() -> list[str]:
    script = Path(sys.executable).with_name("disbursement")
    return [str(script)] if script.exists() else [sys.executable, "-m", "disbursement"]


def available_readers() -> list[str]:
    import importlib.util

    modules = {"fastexcel": "fastexcel", "python-calamine": "python_calamine"}
    return [name for name in RAW_READERS if importlib.util.find_spec(modules[name])]


def measure_workbook(book: Workbook, repeat: int, work: Path) -> dict[str, Stat]:
    """Every measurement of one workbook; raw readers, audited, --no-audit and --out interleaved
    per repetition (so a change in the machine's load touches all of them alike)."""
    stats: dict[str, Stat] = {}
    review = [*_cli(), "review", str(book.path), "--round", "1", "--year", str(YEAR)]
    audit_db, out_db = work / f"audit-{book.lines}.sqlite", work / f"out-{book.lines}.sqlite"
    for i in range(repeat):
        for reader in available_readers():
            sample = run_once([sys.executable, "-c", RAW_READERS[reader], str(book.path)])
            stats.setdefault(f"read:{reader}", Stat(reader)).samples.append(sample)
        runs = {
            "audit": [*review, "--json", "--audit-db", str(audit_db)],
            "json": [*review, "--json", "--no-audit"],
            "out": [*review, "--out", str(work / f"out-{book.lines}-{i}"), "--audit-db", str(out_db)],
        }
        for key, argv in runs.items():
            stats.setdefault(key, Stat()).samples.append(run_once(argv))
    stats["read"] = min((s for k, s in stats.items() if k.startswith("read:")), key=lambda s: s.wall)
    return stats


def measure_help(repeat: int) -> Stat:
    stat = Stat()
    for _ in range(max(repeat, 3)):
        stat.samples.append(run_once([*_cli(), "--help"]))
    return stat


def writer_overheads(book: Workbook, repeat: int, work: Path) -> list[dict]:
    """Each xlsx writer of `review --out` against xlsxwriter writing the same cells bare."""
    import python_calamine
    import xlsxwriter

    from disbursement.pipeline import run_round
    from disbursement.render import tables as export

    result = run_round([str(book.path)], 1)
    writers = [("flags.xlsx", export.write_flags_xlsx), ("issues.xlsx", export.write_issues_xlsx)]
    if result.proposal is not None:
        writers.append(("proposal.xlsx", export.write_proposal_xlsx))
    rows = []
    for name, writer in writers:
        writer(result, work / f"warm-{name}")  # first call pays for imports; not counted
        ours, bare = [], []
        for i in range(repeat):
            target = work / f"w{i}-{name}"
            started = time.process_time()
            writer(result, target)
            ours.append(time.process_time() - started)
            cells = python_calamine.load_workbook(str(target)).get_sheet_by_index(0).to_python()
            plain = work / f"bare{i}-{name}"
            started = time.process_time()
            workbook = xlsxwriter.Workbook(str(plain))
            sheet = workbook.add_worksheet()
            for r, row in enumerate(cells):
                for c, value in enumerate(row):
                    if value != "":
                        sheet.write(r, c, value)
            workbook.close()
            bare.append(time.process_time() - started)
        count = sum(1 for row in cells for v in row if v != "")
        ours_s, bare_s = statistics.median(ours), statistics.median(bare)
        rows.append(
            {
                "file": name,
                "cells": count,
                "ours": ours_s,
                "bare": bare_s,
                "overhead": ours_s / bare_s - 1 if bare_s else 0.0,
            }
        )
    return rows


# ---------------------------------------------------------------- report


def machine() -> dict:
    from importlib import metadata

    info = {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": platform.processor() or platform.machine(),
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["memory_gb"] = round(int(line.split()[1]) / 2**20, 1)
                break
    except OSError:
        pass
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    info["libraries"] = versions
    return info


def _load() -> str:
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def _fmt(seconds: float) -> str:
    return f"{seconds:.2f}" if seconds < 10 else f"{seconds:.1f}"


def report(
    results: dict[Workbook, dict[str, Stat]],
    help_stat: Stat,
    overheads: list[dict],
    overhead_book: Workbook | None,
    repeat: int,
    info: dict,
    loads: dict[str, tuple[str, str]],
) -> str:
    lines = [
        f"Medians of {repeat} fresh processes (wall and CPU = user + system seconds); peak RSS is "
        "the largest of the repetitions. Ratios are to the floor (a) of the same workbook, "
        "measured in the same run.",
        "",
        "| workbook | lines | sheets | step | wall s | CPU s | peak RSS MB | wall ÷ read | CPU ÷ read |",
        "| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for book, stats in results.items():
        floor = stats["read"]
        for key, title in STEPS:
            s = stats[key]
            name = title.format(s.name)
            ratio_w = "" if key == "read" else f"{s.wall / floor.wall:.2f}"
            ratio_c = "" if key == "read" else f"{s.cpu / floor.cpu:.2f}"
            lines.append(
                f"| {book.label} | {book.lines:,} | {book.sheets} | {name} | {_fmt(s.wall)} | "
                f"{_fmt(s.cpu)} | {s.rss_mb:.0f} | {ratio_w} | {ratio_c} |"
            )
            if key == "read":
                lines += [
                    f"| {book.label} | {book.lines:,} | {book.sheets} | raw read ({o.name}) | "
                    f"{_fmt(o.wall)} | {_fmt(o.cpu)} | {o.rss_mb:.0f} | | |"
                    for k, o in stats.items()
                    if k.startswith("read:") and o is not floor
                ]
    lines.append(
        f"| — | | | (e) `disbursement --help` | {help_stat.wall:.3f} | {help_stat.cpu:.3f} | "
        f"{help_stat.rss_mb:.0f} | | |"
    )
    lines += ["", *check_targets(results, help_stat, overheads), ""]
    if overheads and overhead_book is not None:
        lines += [
            f"xlsx writers on the {overhead_book.label} workbook against xlsxwriter writing the "
            "same cells with no formatting (CPU s, median):",
            "",
            "| file | cells | ours | bare xlsxwriter | overhead |",
            "| --- | ---: | ---: | ---: | ---: |",
        ]
        lines += [
            f"| {r['file']} | {r['cells']:,} | {r['ours']:.2f} | {r['bare']:.2f} | {r['overhead']:+.0%} |"
            for r in overheads
        ]
        lines.append("")
    libs = ", ".join(f"{k} {v}" for k, v in info["libraries"].items())
    load_text = "; ".join(f"{name} {a} → {b}" for name, (a, b) in loads.items())
    lines += [
        f"Machine: {info['cores']} cores ({info['cpu']}), {info.get('memory_gb', '?')} GB memory, "
        f"Python {info['python']} on {info['platform']}.",
        f"Libraries: {libs}.",
        f"Load average (1/5/15 min) before → after each workbook: {load_text}. Other processes "
        "on the machine inflate wall times; compare the ratios and CPU times of one run.",
    ]
    return "\n".join(lines)


def check_targets(
    results: dict[Workbook, dict[str, Stat]], help_stat: Stat, overheads: list[dict]
) -> list[str]:
    """One line per target of issue #16: measured value, target, PASS or FAIL."""
    out = ["Targets (issue #16):", ""]

    def line(name: str, value: str, target: str, ok: bool) -> None:
        out.append(f"- {'PASS' if ok else 'FAIL'} — {name}: {value} (target {target})")

    by_lines = {book.lines: (book, stats) for book, stats in results.items()}
    national = [b for b in results if b.sheets > 1]
    if national:
        biggest = max(national, key=lambda b: b.lines)
        s = results[biggest]
        for key, label in (
            ("audit", "audited review --json ÷ read"),
            ("json", "--no-audit ÷ read"),
            ("out", "--out ÷ read"),
        ):
            wall, cpu = s[key].wall / s["read"].wall, s[key].cpu / s["read"].cpu
            target = f"≤ {TARGETS[key]}" + (
                f", stretch ≤ {TARGETS['audit_stretch']}" if key == "audit" else ""
            )
            line(
                f"{label} on the {biggest.label} workbook",
                f"{wall:.2f} wall, {cpu:.2f} CPU",
                target,
                wall <= TARGETS[key],
            )
        rss = s["audit"].rss_mb
        line(
            f"peak RSS of audited review --json on the {biggest.label} workbook",
            f"{rss:.0f} MB",
            f"≤ {TARGETS['rss_mb']} MB",
            rss <= TARGETS["rss_mb"],
        )
        out.append(
            f"- info — peak RSS on the {biggest.label} workbook: --no-audit "
            f"{s['json'].rss_mb:.0f} MB, --out {s['out'].rss_mb:.0f} MB"
        )
    for small, big in ((n, n * 10) for n in sorted(by_lines)):
        if big in by_lines and by_lines[small][0].sheets == by_lines[big][0].sheets:
            for key in ("audit", "json", "out"):
                a, b = by_lines[small][1][key], by_lines[big][1][key]
                line(
                    f"10× lines ({_size_text(small)} → {_size_text(big)}), {key}",
                    f"{b.wall / a.wall:.1f}× wall, {b.cpu / a.cpu:.1f}× CPU",
                    f"≤ {TARGETS['scale']:.0f}×",
                    b.wall / a.wall <= TARGETS["scale"],
                )
    line(
        "`disbursement --help`",
        f"{help_stat.wall:.3f} s",
        f"≤ {TARGETS['help']} s",
        help_stat.wall <= TARGETS["help"],
    )
    provincial = [b for b in results if b.sheets == 1]
    if provincial:
        book = max(provincial, key=lambda b: b.lines)
        wall = results[book]["out"].wall
        line(
            f"{book.label} round with all outputs",
            f"{wall:.2f} s wall",
            f"≤ {TARGETS['provincial_out']} s",
            wall <= TARGETS["provincial_out"],
        )
    for r in overheads:
        line(
            f"{r['file']} writer over bare xlsxwriter",
            f"{r['overhead']:+.0%}",
            f"≤ +{TARGETS['writer_overhead']:.0%}",
            r["overhead"] <= TARGETS["writer_overhead"],
        )
    return out


def write_doc(doc: Path, table: str, when: dt.date) -> None:
    """Replace the generated block of `doc`, keeping the notes around it."""
    block = f"{START}\n_Generated by `make bench` on {when.isoformat()}._\n\n{table}\n{END}"
    if doc.exists():
        text = doc.read_text(encoding="utf-8")
        if START in text and END in text:
            head, rest = text.split(START, 1)
            text = head + block + rest.split(END, 1)[1]
        else:
            text = text.rstrip("\n") + "\n\n" + block + "\n"
    else:
        text = f"# Benchmarks\n\n{block}\n"
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(text, encoding="utf-8")


# ---------------------------------------------------------------- entry point


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.bench", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--sizes",
        default=os.environ.get("BENCH_SIZES", DEFAULT_SIZES),
        help="comma-separated line counts, e.g. 1k,10k,100k,300k (env BENCH_SIZES)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=int(os.environ.get("BENCH_REPEAT", "3")),
        help="fresh processes per measurement; the median is reported (env BENCH_REPEAT)",
    )
    parser.add_argument("--cache", type=Path, default=CACHE, help="where generated workbooks are kept")
    parser.add_argument("--doc", type=Path, default=DOC, help="markdown file to update")
    parser.add_argument("--no-doc", action="store_true", help="print only; leave the markdown file alone")
    parser.add_argument(
        "--writers",
        action="store_true",
        help="also time each xlsx writer against bare xlsxwriter (largest workbook)",
    )
    args = parser.parse_args(argv)
    repeat = max(args.repeat, 1)
    sizes = parse_sizes(args.sizes)
    books = [ensure_workbook(n, args.cache) for n in sizes]
    results: dict[Workbook, dict[str, Stat]] = {}
    loads: dict[str, tuple[str, str]] = {}
    overheads: list[dict] = []
    overhead_book = max(books, key=lambda b: b.lines)
    with tempfile.TemporaryDirectory(prefix="disbursement-bench-") as tmp:
        work = Path(tmp)
        for book in books:
            print(f"measuring {book.label} ({book.path}) × {repeat} …", flush=True)
            before = _load()
            results[book] = measure_workbook(book, repeat, work)
            loads[book.label] = (before, _load())
        help_stat = measure_help(repeat)
        if args.writers:
            print(f"timing xlsx writers on {overhead_book.label} …", flush=True)
            overheads = writer_overheads(overhead_book, repeat, work)
    table = report(results, help_stat, overheads, overhead_book, repeat, machine(), loads)
    print()
    print(table)
    if not args.no_doc:
        write_doc(args.doc, table, dt.date.today())
        print(f"\nwrote {args.doc}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
