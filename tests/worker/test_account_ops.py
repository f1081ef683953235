"""Account operations through coordinator, worker and real Chromium against the sandbox, driven by the facts
the API appends: the SMS code of a verification (a wrong one, a lapsed one, the right one), a session
import (good and stale), crawl now with crawler switches, and a logout."""

from __future__ import annotations

import asyncio
import time

import msgspec

from hiscrm.facts.catalogue import (
    AccountAssigned,
    AccountCrawlRequested,
    AccountLoggedOut,
    AccountUpdated,
    CrawlSwitches,
    LoginFailed,
    LoginQrcodeReady,
    LoginRequested,
    LoginSmsCodeRejected,
    LoginSmsCodeSubmitted,
    LoginSucceeded,
    LoginVerificationRequired,
    SnapshotSynced,
)
from hiscrm.store.event_store import EventStore
from tests.worker.conftest import KITCHEN, RIDER, Cluster, Sandbox, wait_for_facts


async def submit_code(cluster: Cluster, login_id: str, account_id: str, code: str) -> None:
    """What `POST /api/v1/login-sessions/{id}/sms-code` appends."""
    sealed = await cluster.keys.seal_for(account_id, code.encode())
    assert sealed is not None
    await cluster.store.append(LoginSmsCodeSubmitted(login_id=login_id, account_id=account_id, sealed_code=sealed))


async def test_sms_verification_takes_the_operators_codes(nc, cluster: Cluster, sandbox: Sandbox) -> None:  # type: ignore[no-untyped-def]
    await sandbox.control("POST", "/settings", {"sms_resend": 0})  # a new code may be asked for at once
    cluster.start_worker()
    await cluster.create_account("rider")
    await sandbox.control("POST", f"/accounts/{RIDER}/sms", {"required": True})
    await cluster.request_login("rider", "L-sms")
    await wait_for_facts(nc, LoginQrcodeReady, where=lambda f: f.login_id == "L-sms")
    await sandbox.control("POST", "/qr/scan", {"uid": RIDER})

    demanded = (await wait_for_facts(nc, LoginVerificationRequired))[0]
    assert demanded.method == "sms" and RIDER[-4:] in (demanded.message or "")
    [sms] = await sandbox.control("GET", f"/sms?uid={RIDER}")  # the worker chose SMS and had it sent

    wrong = str((int(sms["code"]) + 1) % 10**6).zfill(6)
    await submit_code(cluster, "L-sms", "rider", wrong)
    rejected = (await wait_for_facts(nc, LoginSmsCodeRejected))[0]
    assert rejected.code == "wrong" and "验证码错误" in rejected.reason and rejected.worker_id == "w1"

    await sandbox.control("POST", "/settings", {"sms_ttl": 0.2})
    await asyncio.sleep(0.3)
    await submit_code(cluster, "L-sms", "rider", sms["code"])
    lapsed = (await wait_for_facts(nc, LoginSmsCodeRejected, 2))[1]
    assert lapsed.code == "expired" and "过期" in lapsed.reason
    # The code is void: the worker has a new one sent and says so again.
    await wait_for_facts(nc, LoginVerificationRequired, 2)
    await sandbox.control("POST", "/settings", {"sms_ttl": 300})
    resent = await sandbox.control("GET", f"/sms?uid={RIDER}")
    assert len(resent) == 2

    await submit_code(cluster, "L-sms", "rider", resent[-1]["code"])
    ok = (await wait_for_facts(nc, LoginSucceeded))[0]
    assert ok.login_id == "L-sms" and ok.profile.unique_id == "ajie_ride"
    assert len(await wait_for_facts(nc, LoginSmsCodeRejected)) == 2


def exported(sandbox: Sandbox, uid: str) -> dict:
    """A logged-in browser's cookies as a storage state (what the API makes of an export), sealed next."""
    session = sandbox.world.open_session(uid)
    cookie = {"domain": "127.0.0.1", "path": "/", "expires": -1, "httpOnly": True, "secure": False, "sameSite": "Lax"}
    return {"cookies": [{**cookie, "name": "sessionid", "value": session.sessionid}], "origins": []}


async def request_import(cluster: Cluster, account_id: str, login_id: str, state: dict) -> None:
    """What `POST /api/v1/accounts/{id}/session-import` appends."""
    sealed = await cluster.keys.seal_for(account_id, msgspec.json.encode(state))
    expires = int(time.time() * 1000) + 300_000
    fact = LoginRequested(
        login_id=login_id, account_id=account_id, expires_at_ms=expires, method="import", sealed_import=sealed
    )
    await cluster.store.append(fact)


async def passes_of(nc, account_id: str, count: int) -> list[SnapshotSynced]:  # type: ignore[no-untyped-def]
    return await wait_for_facts(nc, SnapshotSynced, count, where=lambda f: f.account_id == account_id)


async def test_import_crawl_now_switches_and_logout(nc, cluster: Cluster, sandbox: Sandbox) -> None:  # type: ignore[no-untyped-def]
    store: EventStore = cluster.store
    cluster.start_worker()
    await cluster.create_account("kitchen", interval=3600)  # every pass after the first is asked for
    await cluster.create_account("stale", interval=3600)
    await wait_for_facts(nc, AccountAssigned, 2)
    stale = exported(sandbox, RIDER)
    sandbox.world.expire_sessions(RIDER)
    await request_import(cluster, "stale", "L-stale", stale)
    refused = (await wait_for_facts(nc, LoginFailed, where=lambda f: f.login_id == "L-stale"))[0]
    assert refused.code == "import_rejected" and "not logged in" in refused.reason

    await request_import(cluster, "kitchen", "L-import", exported(sandbox, KITCHEN))
    ok = (await wait_for_facts(nc, LoginSucceeded, where=lambda f: f.login_id == "L-import"))[0]
    assert ok.profile.uid == KITCHEN and ok.worker_id == "w1"
    first = (await passes_of(nc, "kitchen", 1))[0]
    assert first.counts.conversations > 0 and first.counts.notifications > 0

    await store.append(AccountCrawlRequested(account_id="kitchen", by="test"))
    second = (await passes_of(nc, "kitchen", 2))[1]
    assert second.counts.conversations > 0  # the control: what a pass with every switch on reads
    off = CrawlSwitches(dms=False, notifications=False)
    await store.append(AccountUpdated(account_id="kitchen", crawl=off))
    await store.append(AccountCrawlRequested(account_id="kitchen", by="test"))
    third = (await passes_of(nc, "kitchen", 3))[2]
    assert third.counts.conversations == 0 and third.counts.notifications == 0 and third.counts.contents > 0

    # The worker keeps the session as the site refreshes it (storage.sealed, written when the cookies
    # changed during a pass; the sandbox does not change them, so one is put there as a pass would).
    stored = cluster.data_dir / "w1" / "browser" / "kitchen" / "storage.sealed"
    stored.write_bytes(b"a refreshed session")
    await store.append(AccountLoggedOut(account_id="kitchen", by="test"))
    for _ in range(150):
        if not stored.exists():
            break
        await asyncio.sleep(0.2)
    assert not stored.exists(), "the worker kept the logged-out session on disk"
    # It was deleted under the account's lock, so no pass is running now.
    before = len(await passes_of(nc, "kitchen", 3))
    # Logged out, a crawl request finds nothing to crawl with: no fourth pass. A new login then shows a
    # QR, so the worker is alive and its context holds nothing of the old session (with it, the login
    # page would have gone straight to the creator home).
    await store.append(AccountCrawlRequested(account_id="kitchen", by="test"))
    await cluster.request_login("kitchen", "L-after")
    await wait_for_facts(nc, LoginQrcodeReady, where=lambda f: f.login_id == "L-after")
    assert len(await passes_of(nc, "kitchen", 3)) == before
