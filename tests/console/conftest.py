"""Fixtures for the console tests: one `hiscrm up` and one Chromium for the whole module, as a user has them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.conftest import free_port
from tests.console.console_helpers import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, Browser, Up, start_up, stop_up


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    root: Path = tmp_path_factory.mktemp("console")
    running = start_up(root / "var", free_port(), free_port(), free_port())
    try:
        yield running
    finally:
        stop_up(running)
        print(f"\nhiscrm up log: {running.log}\nscreenshots: {ARTIFACTS}")


@pytest.fixture(scope="module")
def browser(up: Up) -> Iterator[Browser]:
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = chromium.new_context(viewport={"width": 1280, "height": 860}, locale="en-GB")
        context.set_default_timeout(15_000)
        b = Browser(context.new_page())
        b.watch()
        try:
            yield b
        finally:
            context.close()
            chromium.close()


@pytest.fixture(autouse=True)
def no_console_errors(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test fails on a browser console error or uncaught exception that happened during it."""
    if "browser" not in request.fixturenames:
        yield
        return
    b: Browser = request.getfixturevalue("browser")
    before = len(b.errors)
    yield
    new = b.errors[before:]
    assert not new, "the browser reported errors:\n" + "\n".join(new)
