"""Regenerate the bundled sample workbooks: `python sample_data/generate.py`.

Writes two synthetic Sơn La 2022 capital-plan workbooks in the official layout, the same
150 project lines (seed 2022) as of 30/6/2022 and as of 30/9/2022, and prints their counts.
Same seed → same bytes, so a rerun leaves git clean.
"""

from __future__ import annotations

import collections
import datetime as dt
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # run from a checkout without installing

from devtools.samples import generate_projects, write_official_workbook  # noqa: E402

SEED = 2022
YEAR = 2022
CUT_OFFS = {  # file name → (as-of date, disbursement key)
    "son_la_2022_den_30-06.xlsx": (dt.date(2022, 6, 30), "disbursed_0630_dong"),
    "son_la_2022_den_30-09.xlsx": (dt.date(2022, 9, 30), "disbursed_0930_dong"),
}


def main() -> None:
    projects = generate_projects(SEED, n=150, year=YEAR)
    for name, (as_of, key) in CUT_OFFS.items():
        write_official_workbook(HERE / name, projects, year=YEAR, as_of=as_of, disbursed_key=key)
        print(f"wrote {HERE / name}")
    counts = collections.Counter((p["capital_source_label"], p["status"]) for p in projects)
    for (source, status), count in sorted(counts.items()):
        print(f"  {source:<36} {status:<11} {count:>3}")
    total = sum(p["plan_dong"] for p in projects)
    print(f"  {len(projects)} lines, plan {total / 10**6:,.3f} triệu đồng")


if __name__ == "__main__":
    main()
