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
from hiscrm.worker.account_runner import Timing
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


async def probes_in(sandbox: Sandbox, seconds: float, *uids: str) -> list[int]:
    """How many passes or probes the worker started for each of `uids` in the same next `seconds`: each
    opens the creator home."""
    await sandbox.control("POST", "/requests/reset")
    await asyncio.sleep(seconds)
    paths = [f"/requests?uid={uid}&path=/creator-micro/home" for uid in uids]
    return [(await sandbox.control("GET", path))["total"] for path in paths]


async def test_risk_control_and_an_expired_session_are_reported_once_and_backed_off(  # type: ignore[no-untyped-def]
    nc, cluster: Cluster, sandbox: Sandbox
) -> None:
    # The rider account stays healthy throughout: the control that the kitchen account, in trouble, is
    # probed less, measured in the same window on the same loaded machine, with no pass count assumed.
    # A first backoff of 6 s against a 1 s interval keeps the two far apart however slow a pass gets.
    cluster.start_worker(timing=Timing(backoff_base_s=6.0, backoff_cap_s=48.0))
    await cluster.logged_in("kitchen", KITCHEN)
    await cluster.logged_in("rider", RIDER)
    for account in ("kitchen", "rider"):
        await wait_for_facts(nc, SnapshotSynced, where=lambda f, a=account: f.account_id == a, timeout=90)  # type: ignore[misc]

    await sandbox.control("POST", f"/accounts/{KITCHEN}/risk", {"on": True})
    blocked = (await wait_for_facts(nc, AccountBlocked))[0]
    assert blocked.kind == "risk_control" and blocked.retry_after_s and blocked.worker_id == "w1"
    # Backing off 6 s, then 12 s, the blocked account is probed at most once in the next 15 s (a loaded
    # machine only makes that fewer), while the healthy one runs a pass after each 1 s interval.
    kitchen, rider = await probes_in(sandbox, 15, KITCHEN, RIDER)
    assert kitchen <= 1 and kitchen < rider, (kitchen, rider)
    assert len(await wait_for_facts(nc, AccountBlocked)) == 1

    passes = len(await wait_for_facts(nc, SnapshotSynced, where=lambda f: f.account_id == "kitchen"))
    await sandbox.control("POST", f"/accounts/{KITCHEN}/risk", {"on": False})
    await wait_for_facts(nc, SnapshotSynced, passes + 1, where=lambda f: f.account_id == "kitchen", timeout=30)

    # Logged out: reported once; the coordinator takes the credentials back, so the worker stops
    # probing altogether until someone logs the account in again.
    await sandbox.control("POST", f"/accounts/{KITCHEN}/sessions/expire")
    expired = (await wait_for_facts(nc, AccountSessionExpired))[0]
    assert expired.worker_id == "w1"
    kitchen, rider = await probes_in(sandbox, 10, KITCHEN, RIDER)
    assert kitchen <= 1 and kitchen < rider, (kitchen, rider)
    assert len(await wait_for_facts(nc, AccountSessionExpired)) == 1
    assert len(await wait_for_facts(nc, AccountBlocked)) == 1
