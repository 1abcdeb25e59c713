"""`make bench` machinery on a 200-line workbook, one repetition; no timing asserts."""

from __future__ import annotations

from devtools import bench


def test_sizes_parse():
    assert bench.parse_sizes("1k, 10k,100k") == [1_000, 10_000, 100_000]
    assert bench.parse_sizes("200") == [200]


def test_bench_runs_and_writes_the_table(tmp_path, capsys):
    doc = tmp_path / "benchmarks.md"
    doc.write_text(
        "# Benchmarks\n\nNotes kept.\n\n<!-- bench:start -->\nold\n<!-- bench:end -->\n\nTail.\n",
        encoding="utf-8",
    )

    assert (
        bench.main(
            [
                "--sizes",
                "200",
                "--repeat",
                "1",
                "--cache",
                str(tmp_path / "cache"),
                "--doc",
                str(doc),
                "--writers",
            ]
        )
        == 0
    )

    text = doc.read_text(encoding="utf-8")
    assert text.startswith("# Benchmarks\n\nNotes kept.")
    assert text.rstrip().endswith("Tail.")
    assert "old" not in text
    for step in (
        "(a) raw read",
        "(b) review --json (audited)",
        "(c) review --json --no-audit",
        "(d) review --out + audit",
        "--help",
    ):
        assert step in text
    assert "provincial 200" in text and "Targets (issue #16):" in text and "Machine: " in text
    assert "provincial 200 round with all outputs" in text and "Load average" in text
    assert "flags.xlsx" in capsys.readouterr().out
    # The workbook is cached: a second run does not generate it again.
    assert (tmp_path / "cache" / "province-200.json").exists()
