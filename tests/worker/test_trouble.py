"""Trouble at login and while crawling: each ends in the right fact, once, and the worker backs off."""

from __future__ import annotations

import asyncio

from hiscrm.facts.catalogue import (
    AccountBlocked,
    AccountSessionExpired,
    LoginQrcodeReady,
    LoginQrcodeRefreshed,
    LoginSucceeded,
    LoginVerificationRequired,
    SnapshotSynced,
)
from tests.worker.conftest import KITCHEN, RIDER, Cluster, Sandbox, wait_for_facts


async def test_an_expired_qr_is_refreshed_and_sms_verification_is_reported(  # type: ignore[no-untyped-def]
    nc, cluster: Cluster, sandbox: Sandbox
) -> None:
    cluster.start_worker()
    await cluster.create_account("rider")
    await sandbox.control("POST", f"/accounts/{RIDER}/sms", {"required": True})
    await cluster.request_login("rider", "L-rider")
    first = (await wait_for_facts(nc, LoginQrcodeReady))[0]

    await sandbox.control("POST", "/qr/expire", {})
    refreshed = (await wait_for_facts(nc, LoginQrcodeRefreshed))[0]
    assert refreshed.qrcode.startswith("data:image/png;base64,") and refreshed.qrcode != first.qrcode
    assert refreshed.qr_expires_at_ms and refreshed.login_id == "L-rider"

    scanned = await sandbox.control("POST", "/qr/scan", {"uid": RIDER})
    assert scanned["status"] == "verify"
    demanded = (await wait_for_facts(nc, LoginVerificationRequired))[0]
    assert demanded.method == "sms" and demanded.login_id == "L-rider"
    await sandbox.control("POST", "/qr/verify", {"uid": RIDER})
    ok = (await wait_for_facts(nc, LoginSucceeded))[0]
    assert ok.profile.unique_id == "ajie_ride"
    assert len(await wait_for_facts(nc, LoginVerificationRequired)) == 1


async def probes_in(sandbox: Sandbox, seconds: float) -> int:
    """How many passes or probes the worker started in the next `seconds`: each opens the creator home."""
    await sandbox.control("POST", "/requests/reset")
    await asyncio.sleep(seconds)
    return (await sandbox.control("GET", f"/requests?uid={KITCHEN}&path=/creator-micro/home"))["total"]


async def test_risk_control_and_an_expired_session_are_reported_once_and_backed_off(  # type: ignore[no-untyped-def]
    nc, cluster: Cluster, sandbox: Sandbox
) -> None:
    cluster.start_worker()
    await cluster.logged_in("kitchen", KITCHEN)
    await wait_for_facts(nc, SnapshotSynced, timeout=90)
    # With a 1 s interval a healthy account makes about 5 passes in 10 s (fewer on a loaded machine);
    # backing off 2 s, then 4 s, then 8 s, a blocked one probes at most twice in as long.
    assert await probes_in(sandbox, 10) >= 3

    await sandbox.control("POST", f"/accounts/{KITCHEN}/risk", {"on": True})
    blocked = (await wait_for_facts(nc, AccountBlocked))[0]
    assert blocked.kind == "risk_control" and blocked.retry_after_s and blocked.worker_id == "w1"
    assert 1 <= await probes_in(sandbox, 10) <= 2
    assert len(await wait_for_facts(nc, AccountBlocked)) == 1

    passes = len(await wait_for_facts(nc, SnapshotSynced))
    await sandbox.control("POST", f"/accounts/{KITCHEN}/risk", {"on": False})
    await wait_for_facts(nc, SnapshotSynced, passes + 1, timeout=30)

    # Logged out: reported once; the coordinator takes the credentials back, so the worker stops
    # probing altogether until someone logs the account in again.
    await sandbox.control("POST", f"/accounts/{KITCHEN}/sessions/expire")
    expired = (await wait_for_facts(nc, AccountSessionExpired))[0]
    assert expired.worker_id == "w1"
    assert await probes_in(sandbox, 6) <= 1
    assert len(await wait_for_facts(nc, AccountSessionExpired)) == 1
    assert len(await wait_for_facts(nc, AccountBlocked)) == 1
