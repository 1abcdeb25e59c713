"""Start-up: a command imports only what it uses (issue #16): `review --json` draws no chart,
writes no workbook and synthesises no data, so matplotlib, openpyxl, python-docx, xlsxwriter
and hypothesis stay out of the process; pandera too, on a table with nothing to report."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_data" / "son_la_2022_den_30-06.xlsx"
PROBE = """\
import os, sys
listing, end = sys.argv[1], os._exit
def listed_end(code):  # main() ends with os._exit (no atexit): list the modules first
    open(listing, "w").write("\\n".join(sorted(sys.modules)))
    end(code)
os._exit = listed_end
from disbursement.cli import main
sys.argv = ["disbursement", *sys.argv[2:]]
main()
"""


def _modules(tmp_path: Path, *args: str) -> set[str]:
    listing = tmp_path / "modules.txt"
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(listing), *args], cwd=tmp_path, capture_output=True, check=False
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    return {name.split(".")[0] for name in listing.read_text().split()}


def test_review_json_imports_nothing_it_does_not_use(tmp_path):
    loaded = _modules(tmp_path, "review", str(SAMPLE), "--round", "1", "--json", "--no-audit")
    assert {"pandas", "orjson"} <= loaded
    # pandera only when a numpy check finds something to report (the sample has nothing)
    assert not loaded & {"matplotlib", "openpyxl", "docx", "xlsxwriter", "hypothesis", "psycopg", "pandera"}


def test_help_imports_no_library(tmp_path):
    loaded = _modules(tmp_path, "--help")
    assert not loaded & {"pandas", "numpy", "pandera", "orjson", "matplotlib", "openpyxl"}
