"""tests/needs.py: a missing component skips on a developer's machine and fails under CI=true."""

from __future__ import annotations

import pytest

import tests.needs as needs


def test_nothing_missing_is_nothing(monkeypatch):
    monkeypatch.setenv("CI", "true")
    needs.need(None)


def test_missing_skips_outside_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no browser"):
        needs.need("no browser")


def test_missing_fails_under_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="needed under CI=true: no browser"):
        needs.need("no browser")


def test_a_missing_driver_is_named_with_its_install_line(monkeypatch, tmp_path):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(needs, "CHROMEDRIVER", str(tmp_path / "chromedriver"))
    problem = needs.chromium_problem()
    assert problem is not None
    assert "chromedriver not installed: apt-get install chromium chromium-driver" in problem
    assert "\n" not in problem
    with pytest.raises(pytest.skip.Exception):
        needs.need_chromium()
