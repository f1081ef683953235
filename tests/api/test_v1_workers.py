"""Workers as the facts tell them, and the lifecycle of local ones (a stand-in child process here)."""

from __future__ import annotations

import asyncio
import os

from hiscrm.facts import catalogue as c
from tests.api.api_client import Api


async def until(predicate, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def test_workers_from_facts(api: Api) -> None:
    await api.create_account("shop1")
    await api.record(
        c.WorkerRegistered(worker_id="w1", platforms=["douyin"], max_accounts=5, host="h1", pid=42, version="0.1.0"),
        c.WorkerRegistered(worker_id="w2", platforms=["douyin"], max_accounts=3),
        c.AccountAssigned(account_id="shop1", worker_id="w1"),
        c.WorkerWentOffline(worker_id="w2", last_seen_ms=1234),
    )
    w1 = await api.ok("GET", "/api/v1/workers/w1")
    assert w1["status"] == "online" and w1["accounts"] == ["shop1"] and w1["account_count"] == 1
    assert (w1["host"], w1["pid"], w1["max_accounts"], w1["local"]) == ("h1", 42, 5, None)
    assert [w["id"] for w in await api.ok("GET", "/api/v1/workers")] == ["w1", "w2"]
    offline = await api.ok("GET", "/api/v1/workers?status=offline")
    assert [(w["id"], w["last_seen"]) for w in offline] == [("w2", 1234)]
    assert "worker 'w9' not found" in await api.fails("GET", "/api/v1/workers/w9", 404)


async def test_a_local_worker_starts_logs_stops_and_restarts(api: Api) -> None:
    started = await api.ok("POST", "/api/v1/workers/local1/start?max_accounts=7")
    assert started["running"] is True and started["pid"] > 0 and started["starts"] == 1
    assert started["command"][-6:] == ["--id", "local1", "--platforms", "douyin", "--max-accounts", "7"]
    assert started["log_path"].endswith("workers/local1.log")
    # Known locally before it registers.
    listed = await api.ok("GET", "/api/v1/workers")
    assert [(w["id"], w["status"], w["local"]["running"]) for w in listed] == [("local1", "unregistered", True)]

    async def ticking() -> bool:
        lines = (await api.ok("GET", "/api/v1/workers/local1/logs?lines=5"))["lines"]
        return len(lines) == 5 and lines[-1].startswith("tick")

    await until(ticking)
    head = (await api.ok("GET", "/api/v1/workers/local1/logs?lines=10000"))["lines"]
    assert "stand-in worker local1 platforms=douyin max_accounts=7" in head
    assert "already running" in await api.fails("POST", "/api/v1/workers/local1/start", 409)

    stopped = await api.ok("POST", "/api/v1/workers/local1/stop")
    assert stopped["running"] is False and stopped["exit_code"] == 0 and stopped["pid"] is None
    lines = (await api.ok("GET", "/api/v1/workers/local1/logs?lines=2"))["lines"]
    assert lines[0] == "stopping on SIGTERM" and "exited with 0" in lines[1]
    assert "not running" in await api.fails("POST", "/api/v1/workers/local1/stop", 409)

    restarted = await api.ok("POST", "/api/v1/workers/local1/restart")
    assert restarted["running"] is True and restarted["starts"] == 2
    assert restarted["max_accounts"] == 7  # what it last ran with
    again = await api.ok("POST", "/api/v1/workers/local1/restart")
    assert again["starts"] == 3 and again["pid"] != restarted["pid"]
    with_process = await api.ok("GET", "/api/v1/workers/local1")
    assert with_process["local"]["pid"] == again["pid"]
    status = await api.ok("GET", "/api/v1/workers/local1/status")
    assert status["running"] is True
    os.kill(again["pid"], 0)  # the process is real


async def test_lifecycle_refusals(api: Api) -> None:
    for verb in ("stop", "restart"):
        assert "not a local worker" in await api.fails("POST", f"/api/v1/workers/ghost/{verb}", 404)
    await api.fails("GET", "/api/v1/workers/ghost/status", 404)
    await api.fails("GET", "/api/v1/workers/ghost/logs", 404)
    assert "'_'" in await api.fails("POST", "/api/v1/workers/_lease/start", 400)
    assert "platforms" in await api.fails("POST", "/api/v1/workers/w1/start?platforms=tiktok", 400)
    assert "max_accounts" in await api.fails("POST", "/api/v1/workers/w1/start?max_accounts=0", 400)
    assert "lines" in await api.fails("GET", "/api/v1/workers/w1/logs?lines=0", 400)
    await api.record(c.WorkerRegistered(worker_id="remote", platforms=["douyin"], max_accounts=5, host="elsewhere"))
    assert "elsewhere" in await api.fails("POST", "/api/v1/workers/remote/start", 409)
