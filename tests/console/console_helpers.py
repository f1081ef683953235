"""What the console tests share: `hiscrm up` as a subprocess, and a Chromium page that records its errors."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import ConsoleMessage, Page

from hiscrm.config import REPO_ROOT
from hiscrm.lifeline import command_for as lifeline_command

ARTIFACTS = Path(os.environ.get("HISCRM_TEST_ARTIFACTS", REPO_ROOT / "test-artifacts")) / "console"
CHROMIUM = os.environ.get("HISCRM_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
AJIE = "1093857263140582913"  # 阿杰骑行日记 in the sandbox's demo world; the demo itself runs the other account


@dataclass
class Up:
    """A running `hiscrm up`: its API and sandbox, the admin token, and its output for failure reports."""

    proc: subprocess.Popen[bytes]
    api: str
    sandbox: str
    data_dir: Path
    log: Path
    token: str = ""

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.api, headers={"Authorization": f"Bearer {self.token}"}, timeout=10)

    def control(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """A call to the sandbox's /__sandbox/ control API, as the platform's side of the world."""
        if body is None and method != "GET":
            body = {}  # the control API takes only JSON
        res = httpx.request(method, f"{self.sandbox}/__sandbox{path}", json=body, timeout=10)
        res.raise_for_status()
        return res.json()

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def start_up(data_dir: Path, api_port: int, nats_port: int, sandbox_port: int) -> Up:
    log = data_dir.parent / "up.log"
    command = [sys.executable, "-m", "hiscrm", "up", "--data-dir", str(data_dir), "--api-port", str(api_port)]
    command += ["--nats-port", str(nats_port), "--sandbox-port", str(sandbox_port)]
    with log.open("wb") as out:
        # Through the lifeline: a pytest killed mid-run (a CI timeout) takes this `up` and its stack along.
        proc = subprocess.Popen(lifeline_command(command), stdout=out, stderr=subprocess.STDOUT, cwd=REPO_ROOT)
    up = Up(proc, f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{sandbox_port}", data_dir, log)
    deadline = time.monotonic() + 90
    token_file = data_dir / "admin.token"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"hiscrm up exited with {proc.returncode}:\n{up.tail()}")
        if token_file.exists():
            try:
                if httpx.get(f"{up.api}/health", timeout=2).status_code == 200:
                    up.token = token_file.read_text().strip()
                    return up
            except httpx.TransportError:
                pass
        time.sleep(0.3)
    stop_up(up)
    raise RuntimeError(f"hiscrm up did not answer within 90 s:\n{up.tail()}")


def stop_up(up: Up) -> None:
    """Ctrl-C, as a user stops it: every part shuts down in order, the broker last."""
    if up.proc.poll() is None:
        up.proc.send_signal(signal.SIGINT)
        try:
            up.proc.wait(60)
        except subprocess.TimeoutExpired:
            up.proc.kill()
            up.proc.wait(10)


@dataclass
class Browser:
    """One page of the console with every console error and uncaught exception it produced."""

    page: Page
    errors: list[str] = field(default_factory=list)

    def watch(self) -> None:
        def on_console(msg: ConsoleMessage) -> None:
            if msg.type == "error":
                self.errors.append(f"console error: {msg.text} ({msg.location.get('url')})")

        self.page.on("console", on_console)
        self.page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))

    def shot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=path, full_page=True)
        return path
