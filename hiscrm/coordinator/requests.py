"""Login and reply requests: handed to the account's worker as a command, or refused as a fact.

A request is sent as `hiscrm.cmd.<worker>.<account>.login_start|reply_send` with `Nats-Msg-Id` =
the login or reply id, so a new leader sending the pending ones again within the commands
stream's two-minute duplicate window sends nothing twice. A request for a disabled, deleted or
unknown account becomes `login.failed` / `reply.failed` with the reason, appended with the expected
sequence of its own aggregate so it is recorded once; so does a reply for an account with no live
worker. A login for such an account waits instead, within its window, for a worker that runs the
platform (right after a start, the local worker is not live yet): dispatch runs again whenever
presence or an assignment changes. Live logins past `expires_at_ms` become `login.expired`, or
`login.failed` with code `no_worker` if no worker ever came for them.

Two requests only pass through: an operator's SMS code goes to the worker running its login as
`login_sms_code` (msg id `<login>:sms:<seq>`), and a crawl request to the account's worker as
`crawl_now` (msg id `<account>:crawl_now:<seq>`). A crawl request older than the duplicate window,
or for an account no live worker holds, is dropped: asking again is the operator's remedy, and a
new leader folding old requests must not crawl every account that was ever asked for.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping

import msgspec
from nats.aio.client import Client

from hiscrm.coordinator.state import AccountState, CrawlRequest, LoginState, ReplyState, State
from hiscrm.errors import ConcurrencyConflict
from hiscrm.facts import catalogue as c
from hiscrm.facts.base import Fact
from hiscrm.facts.codec import MSG_ID
from hiscrm.facts.messages import CrawlNow, LoginSmsCode, LoginStart, Presence
from hiscrm.facts.subjects import command_subject
from hiscrm.store.event_store import EventStore

log = logging.getLogger(__name__)
_encoder = msgspec.json.Encoder()
CRAWL_FRESH_MS = 100_000  # inside the commands stream's two-minute duplicate window


def refusal(
    account_id: str, account: AccountState | None, live: Mapping[str, Presence], unplaced: Mapping[str, str]
) -> tuple[str, str] | None:
    """(code, reason) why a request for this account cannot be handed to a worker now, or None."""
    if account is None:
        return "unknown_account", f"account {account_id} does not exist"
    if account.status == "deleted":
        return "account_deleted", f"account {account_id} is deleted"
    if account.status == "disabled":
        return "account_disabled", f"account {account_id} is disabled"
    if account.worker_id is None:
        why = unplaced.get(account_id, "it is not assigned to any worker")
        return "no_worker", f"account {account_id} has no live worker: {why}"
    if account.worker_id not in live:
        return "no_worker", f"account {account_id} has no live worker: its worker {account.worker_id} is offline"
    return None


class Requests:
    def __init__(self, nc: Client, store: EventStore, guard: Callable[[], None]) -> None:
        self.js = nc.jetstream()
        self.store = store
        self.guard = guard
        self.sent: set[str] = set()  # request ids handed to a worker in this term of leadership
        self.sent_codes: set[tuple[str, int]] = set()  # (login id, code fact seq), likewise

    def new_term(self) -> None:
        self.sent.clear()
        self.sent_codes.clear()

    async def dispatch(
        self, state: State, live: Mapping[str, Presence], unplaced: Mapping[str, str], now_ms: int
    ) -> int:
        """Send or refuse every request not yet handled; returns the highest sequence appended (or to wait for)."""
        self.sent.intersection_update(state.logins.keys() | state.replies.keys())
        work = [
            self._login(login, state.accounts.get(login.account_id), live, unplaced)
            for login in state.logins.values()
            if login.login_id not in self.sent and login.expires_at_ms > now_ms
        ]
        work += [
            self._reply(reply, state.accounts.get(reply.command.account_id), live, unplaced)
            for reply in state.replies.values()
            if reply.command.reply_id not in self.sent
        ]
        self.sent_codes = {(login_id, seq) for login_id, seq in self.sent_codes if login_id in state.logins}
        work += [
            self._code(login, seq, sealed, state.accounts.get(login.account_id), live)
            for login in state.logins.values()
            if login.login_id in self.sent
            for seq, sealed in login.codes
            if (login.login_id, seq) not in self.sent_codes
        ]
        crawls, state.crawls = state.crawls, {}
        work += [
            self._crawl(request, state.accounts.get(request.account_id), live)
            for request in crawls.values()
            if request.at_ms > now_ms - CRAWL_FRESH_MS
        ]
        return max(await asyncio.gather(*work), default=0)

    async def expire(
        self, state: State, live: Mapping[str, Presence], unplaced: Mapping[str, str], now_ms: int
    ) -> tuple[int, int | None]:
        """Ends every lapsed session: (highest sequence, next expiry in ms or None)."""
        lapsed = [login for login in state.logins.values() if login.expires_at_ms <= now_ms]
        done = await asyncio.gather(
            *(self._lapse(login, state.accounts.get(login.account_id), live, unplaced) for login in lapsed)
        )
        upcoming = [login.expires_at_ms for login in state.logins.values() if login.expires_at_ms > now_ms]
        return max(done, default=0), min(upcoming, default=None)

    async def _lapse(
        self, login: LoginState, account: AccountState | None, live: Mapping[str, Presence], unplaced: Mapping[str, str]
    ) -> int:
        """`login.expired`; or, for a login that waited its whole window for a worker, `login.failed` saying so."""
        refused = refusal(login.account_id, account, live, unplaced)
        if refused is not None and refused[0] == "no_worker" and login.login_id not in self.sent:
            code, reason = refused
            fact: Fact = c.LoginFailed(
                login_id=login.login_id,
                account_id=login.account_id,
                reason=f"{reason}, and none came before the login expired",
                code=code,
            )
            return await self._settle(fact, login.seq, f"{login.login_id}:failed")
        fact = c.LoginExpired(login_id=login.login_id, account_id=login.account_id)
        return await self._settle(fact, login.seq, f"{login.login_id}:expired")

    async def _login(
        self, login: LoginState, account: AccountState | None, live: Mapping[str, Presence], unplaced: Mapping[str, str]
    ) -> int:
        refused = refusal(login.account_id, account, live, unplaced)
        if refused is not None:
            code, reason = refused
            if code == "no_worker":
                return 0  # it waits for a worker; dispatch comes back to it when presence or assignments change
            fact = c.LoginFailed(login_id=login.login_id, account_id=login.account_id, reason=reason, code=code)
            return await self._settle(fact, login.seq, f"{login.login_id}:failed")
        assert account is not None and account.worker_id is not None
        command = LoginStart(
            login_id=login.login_id,
            account_id=login.account_id,
            expires_at_ms=login.expires_at_ms,
            sealed_import=login.sealed_import,
        )
        await self._send(account.worker_id, login.account_id, "login_start", command, login.login_id)
        return 0

    async def _reply(
        self, reply: ReplyState, account: AccountState | None, live: Mapping[str, Presence], unplaced: Mapping[str, str]
    ) -> int:
        command = reply.command
        refused = refusal(command.account_id, account, live, unplaced)
        if refused is not None:
            code, reason = refused
            fact = c.ReplyFailed(reply_id=command.reply_id, account_id=command.account_id, reason=reason, code=code)
            return await self._settle(fact, reply.seq, f"{command.reply_id}:failed")
        assert account is not None and account.worker_id is not None
        await self._send(account.worker_id, command.account_id, "reply_send", command, command.reply_id)
        return 0

    async def _code(
        self, login: LoginState, seq: int, sealed: str, account: AccountState | None, live: Mapping[str, Presence]
    ) -> int:
        if account is None or account.worker_id not in live:
            return 0  # the login itself fails or expires; the code waits with it until then
        assert account.worker_id is not None
        command = LoginSmsCode(login_id=login.login_id, account_id=login.account_id, sealed_code=sealed, seq=seq)
        await self._send(account.worker_id, login.account_id, "login_sms_code", command, f"{login.login_id}:sms:{seq}")
        self.sent_codes.add((login.login_id, seq))
        return 0

    async def _crawl(self, request: CrawlRequest, account: AccountState | None, live: Mapping[str, Presence]) -> int:
        if account is None or account.status != "active" or account.worker_id not in live:
            log.info("crawl request for %s dropped: no live worker holds it", request.account_id)
            return 0
        assert account.worker_id is not None
        command = CrawlNow(account_id=request.account_id, reason="requested")
        msg_id = f"{request.account_id}:crawl_now:{request.seq}"
        await self._send(account.worker_id, request.account_id, "crawl_now", command, msg_id)
        return 0

    async def _send(self, worker_id: str, account_id: str, name: str, command: msgspec.Struct, request_id: str) -> None:
        self.guard()
        subject = command_subject(worker_id, account_id, name)
        await self.js.publish(subject, _encoder.encode(command), headers={MSG_ID: request_id})
        self.sent.add(request_id)

    async def _settle(self, fact: Fact, expected: int, msg_id: str) -> int:
        """Append a request's end once: a conflict means its aggregate moved on, so wait for that instead."""
        self.guard()
        try:
            return (await self.store.append(fact, expected_last_seq=expected, msg_id=msg_id)).seq
        except ConcurrencyConflict:
            return await self.store.last_seq(fact.aggregate, fact.aggregate_id)
