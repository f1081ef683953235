"""`hiscrm up` as a newcomer runs it: everything starts, the demo account's data flows, Ctrl-C stops it all."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.faults.up_process import Up, wait_until


def test_up_runs_the_demo_end_to_end_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    data = tmp_path / "var"
    up = Up(data)
    worker_pid = 0
    try:
        wait_until((data / "admin.token").exists, "the admin token is written")
        api = up.client()

        def demo_account() -> dict | None:
            accounts = api.get("/api/v1/accounts").json()["data"]
            return next((a for a in accounts if a["login_status"] == "logged_in"), None)

        account = wait_until(demo_account, "the demo account logs in by itself")
        assert account["assigned_worker_id"] == "local-1"

        def worker_live() -> dict | None:
            workers = api.get("/api/v1/workers").json()["data"]
            return next((w for w in workers if w["id"] == "local-1" and w["status"] == "online"), None)

        worker_pid = wait_until(worker_live, "the local worker is online")["local"]["pid"]

        def crawled() -> bool:
            status = api.get("/api/v1/accounts/status/all").json()["data"]
            return any(row["runtime"]["passes"] > 0 and row["runtime"]["seen"] for row in status)

        wait_until(crawled, "a crawl pass of the demo account is recorded")

        def memory_with_chromium() -> bool:
            memory = api.get("/api/v1/workers/local-1").json()["data"]["memory_bytes"]
            return memory is not None and memory > 100 * 2**20  # a bare Python process is about 45 MB

        wait_until(memory_with_chromium, "the worker reports its memory, Chromium included", timeout=30)
    finally:
        try:
            code = up.interrupt()
        finally:
            up.finish()
    output = up.output
    assert code == 0, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    assert output.rstrip().endswith("stopped")
    assert not Path(f"/proc/{worker_pid}").exists(), "the worker process does not outlive up"
    leftovers = subprocess.run(["pgrep", "-s", str(worker_pid)], capture_output=True, text=True).stdout.split()
    assert not leftovers, f"processes of the worker's session outlive up (Chromium?): {leftovers}"
