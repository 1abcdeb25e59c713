"""No network at run time, no input written to, --out confined to its folder (issue 8)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from devtools.samples import write_official_workbook
from disbursement.cli import cli
from disbursement.errors import OutputError
from disbursement.files import confined
from tests.conftest import line


@pytest.fixture
def no_network(monkeypatch):
    """Every way out of the machine raises and is recorded."""
    attempts: list[str] = []

    def refuse(name):
        def call(*args, **kwargs):
            attempts.append(f"{name}{args[1:] if name.startswith('socket.') else args}")
            raise OSError(f"network access during a run: {name}")

        return call

    monkeypatch.setattr(socket.socket, "connect", refuse("socket.connect"))
    monkeypatch.setattr(socket.socket, "connect_ex", refuse("socket.connect_ex"))
    monkeypatch.setattr(socket.socket, "sendto", refuse("socket.sendto"))
    monkeypatch.setattr(socket, "create_connection", refuse("create_connection"))
    monkeypatch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
    return attempts


def _inputs(folder: Path) -> list[Path]:
    plan = folder / "ke_hoach.xlsx"
    write_official_workbook(
        plan,
        [
            line("7912345", "Đường Chiềng Lương – Nà Sản", disbursed="400"),
            line("7912346", "Trường THCS xã Mường Bú", disbursed="900"),
            line("7920001", "Kè suối Nậm La", status="new", disbursed="0", extra_need_dong="3.000"),
        ],
        year=2022,
        as_of=dt.date(2022, 6, 30),
    )
    overrides = folder / "dieu_chinh.csv"
    overrides.write_text(
        "Mã dự án,Nguồn vốn,Loại,Số tiền,Lý do,Người phê duyệt\n"
        "7912345,NSDP_CAN_DOI,giảm,500,Theo đề nghị của chủ đầu tư,Giám đốc\n",
        encoding="utf-8",
    )
    return [plan, overrides]


def _state(paths: list[Path]) -> dict[str, tuple[str, int]]:
    return {p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns) for p in paths}


def test_full_review_with_outputs_and_audit_needs_no_network(no_network, tmp_path):
    plan, overrides = inputs = _inputs(tmp_path)
    before = _state(inputs)
    runner = CliRunner()
    out = tmp_path / "out"
    store = tmp_path / "audit.sqlite"
    result = runner.invoke(
        cli,
        [
            "review",
            str(plan),
            "--round",
            "1",
            "--out",
            str(out),
            "--overrides",
            str(overrides),
            "--audit-db",
            str(store),
            "--reviewer",
            "Lò Văn Thành",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "đã ghi phu_luc.xlsx" in result.output
    for args in (
        ["inspect", str(plan), "--json"],
        ["whatif", str(plan), "--round", "1", "--json"],
        ["audit", "verify", "--audit-db", str(store)],
        ["audit", "show", "latest", "--audit-db", str(store), "--json"],
    ):
        again = runner.invoke(cli, args)
        assert again.exit_code == 0, (args, again.output)
    assert json.loads(runner.invoke(cli, ["inspect", str(plan), "--json"]).output)["sheets"]
    assert no_network == []
    assert _state(inputs) == before  # inputs byte-identical, not even touched


def test_the_guard_itself_trips(no_network):
    with pytest.raises(OSError, match="network access"):
        socket.create_connection(("example.org", 80), timeout=1)
    assert no_network


@pytest.mark.parametrize("name", ["../flags.xlsx", "/etc/passwd", "a/../../x.xlsx", ".."])
def test_out_names_cannot_escape_the_folder(tmp_path, name):
    with pytest.raises(OutputError, match="outside"):
        confined(tmp_path / "out", name)


def test_out_names_cannot_escape_through_a_symlink(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "flags.xlsx").symlink_to(tmp_path / "elsewhere.xlsx")
    with pytest.raises(OutputError, match="outside"):
        confined(out, "flags.xlsx")


def test_plain_names_stay_inside(tmp_path):
    assert confined(tmp_path, "flags.xlsx") == (tmp_path / "flags.xlsx").resolve()
    assert confined(tmp_path, "ke hoạch (1).annotated.xlsx").parent == tmp_path.resolve()
