"""Components some tests need from the machine (a browser, LibreOffice …), one policy for all:
missing on a developer's machine → skip with a one-line reason; missing under CI=true (where
.ci/run installs them) → fail, so a broken install never passes as a row of skips."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Debian's packages (`apt-get install chromium chromium-driver`): fixed paths, so Selenium
# never looks for or downloads a driver of its own.
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM_INSTALL = "apt-get install chromium chromium-driver"


def need(problem: str | None) -> None:
    """Nothing when `problem` is None; else skip (fail under CI=true) with that reason."""
    if problem is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"needed under CI=true: {problem}")
    pytest.skip(problem)


def _executable(path: str) -> bool:
    return Path(path).is_file() and os.access(path, os.X_OK)


def chromium_problem() -> str | None:
    """Why the browser tests cannot run here, or None when Chromium, its driver and Selenium are."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not _executable(p)]
    if missing:
        return f"{' and '.join(missing)} not installed: {CHROMIUM_INSTALL}"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (make venv installs the dev extra)"
    return None


def need_chromium() -> tuple[str, str]:
    """Chromium and ChromeDriver paths, or a skip (a failure under CI=true)."""
    need(chromium_problem())
    return CHROMIUM, CHROMEDRIVER
