"""`hiscrm up` as a newcomer runs it: everything starts, the demo account's data flows, Ctrl-C stops it all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import free_port

SETTLE_S = 120


def _wait(check: Callable[[], Any], what: str, timeout: float = SETTLE_S) -> Any:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except httpx.HTTPError as exc:
            last = exc
        if last and not isinstance(last, Exception):
            return last
        time.sleep(1)
    raise AssertionError(f"{what}: not within {timeout} s (last: {last!r})")


def test_up_runs_the_demo_end_to_end_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    data = tmp_path / "var"
    api_port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hiscrm",
            "up",
            "--data-dir",
            str(data),
            "--api-port",
            str(api_port),
            "--nats-port",
            str(free_port()),
            "--sandbox-port",
            str(free_port()),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("HISCRM_")},
    )
    worker_pid = 0
    try:
        token_file = data / "admin.token"
        _wait(token_file.exists, "the admin token is written")
        headers = {"Authorization": f"Bearer {token_file.read_text().strip()}"}
        api = httpx.Client(base_url=f"http://127.0.0.1:{api_port}", headers=headers, timeout=10)

        def demo_account() -> dict | None:
            accounts = api.get("/api/v1/accounts").json()["data"]
            return next((a for a in accounts if a["login_status"] == "logged_in"), None)

        account = _wait(demo_account, "the demo account logs in by itself")
        assert account["assigned_worker_id"] == "local-1"

        def worker_live() -> dict | None:
            workers = api.get("/api/v1/workers").json()["data"]
            return next((w for w in workers if w["id"] == "local-1" and w["status"] == "online"), None)

        worker_pid = _wait(worker_live, "the local worker is online")["local"]["pid"]

        def crawled() -> bool:
            status = api.get("/api/v1/accounts/status/all").json()["data"]
            return any(row["runtime"]["passes"] > 0 and row["runtime"]["seen"] for row in status)

        _wait(crawled, "a crawl pass of the demo account is recorded")

        def memory_with_chromium() -> bool:
            memory = api.get("/api/v1/workers/local-1").json()["data"]["memory_bytes"]
            return memory is not None and memory > 100 * 2**20  # a bare Python process is about 45 MB

        _wait(memory_with_chromium, "the worker reports its memory, Chromium included", timeout=30)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            output, _ = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
    assert process.returncode == 0, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    assert output.rstrip().endswith("stopped")
    assert not Path(f"/proc/{worker_pid}").exists(), "the worker process does not outlive up"
    leftovers = subprocess.run(["pgrep", "-s", str(worker_pid)], capture_output=True, text=True).stdout.split()
    assert not leftovers, f"processes of the worker's session outlive up (Chromium?): {leftovers}"
