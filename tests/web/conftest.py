"""A headless Chromium for the web page's tests: Debian's ``chromium`` driven by Playwright
(``executable_path``: no downloaded browser build). Without either, the tests skip, saying why."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    exe = chromium()
    if exe is None:
        pytest.skip("browser tests: no chromium on PATH (apt-get install -y chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="browser tests: no playwright")
    with sync_api.sync_playwright() as p:
        # --no-sandbox: CI and these machines run as root, where Chromium's sandbox cannot start
        b = p.chromium.launch(executable_path=exe, headless=True, args=["--no-sandbox"])
        yield b
        b.close()
