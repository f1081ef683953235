"""Sealed credentials: never in clear in any stream, bucket or the coordinator's log; gone with the account."""

from __future__ import annotations

import logging
import uuid

import pytest
from nats.js.errors import NotFoundError

from hiscrm.coordinator.service import Coordinator
from hiscrm.facts import catalogue as c
from hiscrm.secrets.keystore import KeyStore
from hiscrm.store.event_store import EventStore
from tests.conftest import eventually
from tests.coordinator.conftest import StartWorker
from tests.coordinator.coordinator_helpers import create_accounts, facts_of

STREAMS = (
    "HISCRM_EVENTS",
    "HISCRM_COMMANDS",
    "KV_hiscrm_config",
    "KV_hiscrm_presence",
    "KV_hiscrm_keys",
    "KV_hiscrm_proxies",
)


async def every_stored_byte(nc) -> list[tuple[str, int, str, bytes]]:  # type: ignore[no-untyped-def]
    """(stream, seq, subject, headers and body) of every message every stream still stores."""
    js = nc.jetstream()
    found = []
    for stream in STREAMS:
        state = (await js.stream_info(stream)).state
        for seq in range(max(1, state.first_seq), state.last_seq + 1):
            try:
                msg = await js.get_msg(stream, seq)
            except NotFoundError:
                continue
            headers = "".join(f"{k}:{v}\n" for k, v in (msg.headers or {}).items()).encode()
            found.append((stream, seq, msg.subject or "", headers + (msg.data or b"")))
    return found


async def test_credentials_travel_sealed_and_die_with_the_account(
    nc,
    store: EventStore,
    keys: KeyStore,
    coordinator: Coordinator,
    start_worker: StartWorker,
    caplog: pytest.LogCaptureFixture,
) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    worker = await start_worker("w1")
    await keys.create("acc")  # as the API does when it creates the account
    await create_accounts(store, ["acc"])
    await eventually(lambda: "acc" in worker.held)

    cookie = f"sessionid=COOKIE-{uuid.uuid4().hex}".encode()
    sealed = await keys.seal_for("acc", cookie)
    assert sealed is not None
    await store.append(c.LoginRequested(login_id="L1", account_id="acc", expires_at_ms=2**42))
    await store.append(
        c.LoginSucceeded(login_id="L1", account_id="acc", profile=c.Profile(uid="u1"), sealed_credentials=sealed)
    )
    await eventually(lambda: worker.handler.configs["acc"].sealed_credentials == sealed)
    assert await keys.unseal_for("acc", sealed) == cookie

    stored = await every_stored_byte(nc)
    assert any(sealed.encode() in raw for *_, raw in stored)  # the search does see what is there
    assert [(s, q, subj) for s, q, subj, raw in stored if cookie in raw] == []
    assert "account moves" in caplog.text and cookie.decode() not in caplog.text and sealed not in caplog.text

    await store.append(c.AccountDeleted(account_id="acc", reason="test"))
    await eventually(lambda: "acc" not in worker.held and "acc" in worker.handler.removed)
    await eventually(lambda: "acc" in coordinator._destroyed, what="the account key destroyed")
    assert await keys.get("acc") is None

    # Replaying the whole history finds the sealed value and cannot open it.
    replayed = [f for f in await facts_of(nc, c.LoginSucceeded) if f.account_id == "acc"]
    assert [f.sealed_credentials for f in replayed] == [sealed]
    assert await keys.unseal_for("acc", sealed) is None
    after = await every_stored_byte(nc)
    assert not [q for stream, q, _, raw in after if stream == "KV_hiscrm_config" and sealed.encode() in raw]
    assert all(b"KV-Operation:PURGE" in raw for stream, *_, raw in after if stream == "KV_hiscrm_keys")
