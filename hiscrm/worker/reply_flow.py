"""A reply_send command, as facts: reply.sent with the platform's id, or reply.failed with the reason."""

from __future__ import annotations

import time
from collections.abc import Awaitable

from playwright.async_api import Error as PlaywrightError

from hiscrm.facts.catalogue import ReplyFailed, ReplySent
from hiscrm.facts.messages import ReplySend
from hiscrm.facts.subjects import event_subject
from hiscrm.platforms import base
from hiscrm.store.event_store import EventStore


async def already_settled(store: EventStore, reply_id: str) -> bool:
    """A redelivered command (the worker died after sending, before acknowledging) must not send twice.

    Two direct gets by subject rather than a read of the reply's history: a worker may ask for these two
    kinds of fact, and may create no consumer for it (hiscrm/store/auth.py)."""
    for outcome in (ReplySent, ReplyFailed):
        if await store.last_message(event_subject("reply", reply_id, outcome.event)) is not None:
            return True
    return False


async def fail(store: EventStore, cmd: ReplySend, worker_id: str, reason: str, code: str) -> None:
    await store.append(
        ReplyFailed(reply_id=cmd.reply_id, account_id=cmd.account_id, reason=reason, code=code, worker_id=worker_id),
        msg_id=f"{cmd.reply_id}:failed",
    )


async def settle_reply(store: EventStore, cmd: ReplySend, worker_id: str, attempt: Awaitable[str | None]) -> None:
    """Awaits the platform's send and records its outcome. Trouble (logged out, blocked) is re-raised
    after the failure is recorded, so the account's runner reports and backs off as for a pass."""
    try:
        platform_id = await attempt
    except base.SendRefused as exc:
        await fail(store, cmd, worker_id, exc.reason, exc.code)
        return
    except base.PlatformTrouble as exc:
        await fail(store, cmd, worker_id, exc.detail, exc.code)
        raise
    except (base.PlatformError, PlaywrightError) as exc:
        # Nothing confirmed the send; it may or may not have gone out, and is not retried blindly.
        await fail(store, cmd, worker_id, f"not confirmed by the page: {exc}", "unconfirmed")
        return
    await store.append(
        ReplySent(
            reply_id=cmd.reply_id,
            account_id=cmd.account_id,
            platform_id=platform_id,
            worker_id=worker_id,
            sent_at_ms=int(time.time() * 1000),
        ),
        msg_id=f"{cmd.reply_id}:sent",
    )
