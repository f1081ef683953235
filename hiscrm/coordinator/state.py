"""The coordinator's memory: the worker, account, login and reply aggregates folded from their facts.

Nothing is decided here; folding only records what the facts say and notes what a decision may
have to look at again (an account whose config may have changed, a placement to redo, a new
request). Inbox facts are never read: they are most of the stream and decide nothing here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import msgspec

from hiscrm.facts import catalogue as c
from hiscrm.facts.codec import Recorded
from hiscrm.facts.messages import AccountConfig, ProxyConfig, ReplySend
from hiscrm.facts.subjects import aggregate_type_filter

# What the coordinator reads of the stream: everything but the inbox.
FACT_FILTERS = [aggregate_type_filter(a) for a in ("worker", "account", "login", "reply")]


class AccountState(msgspec.Struct, kw_only=True):
    account_id: str
    platform: str
    account_name: str
    monitor_interval: int
    platform_user_id: str | None = None
    proxy_id: str | None = None
    status: Literal["active", "disabled", "deleted"] = "active"
    worker_id: str | None = None
    pinned_worker: str | None = None  # the only worker it may run on, when set
    crawl: c.CrawlSwitches = msgspec.field(default_factory=c.CrawlSwitches)
    logged_in: bool = False
    sealed_credentials: str | None = None
    seq: int = 0  # the account aggregate's last fact: what a decision on it expects
    revision: int = 0  # the newest fact that changed its config


class WorkerState(msgspec.Struct, kw_only=True):
    worker_id: str
    platforms: list[str]
    max_accounts: int
    status: Literal["online", "stopped", "offline"] = "online"
    seq: int = 0


class LoginState(msgspec.Struct, kw_only=True):
    """A session that is neither succeeded, failed nor expired."""

    login_id: str
    account_id: str
    expires_at_ms: int
    seq: int
    sealed_import: str | None = None
    codes: list[tuple[int, str]] = msgspec.field(default_factory=list)  # (seq, sealed code) not yet sent


class CrawlRequest(msgspec.Struct, kw_only=True):
    account_id: str
    seq: int
    at_ms: int


class ReplyState(msgspec.Struct, kw_only=True):
    """A reply neither sent nor failed."""

    command: ReplySend
    seq: int


def config_of(account: AccountState | None, proxy: ProxyConfig | None) -> AccountConfig | None:
    """What `hiscrm_config.<worker>.<account>` should hold, or None when no key should exist."""
    if account is None or account.status == "deleted" or account.worker_id is None:
        return None
    return AccountConfig(
        account_id=account.account_id,
        worker_id=account.worker_id,
        platform=account.platform,
        account_name=account.account_name,
        monitor_interval=account.monitor_interval,
        status=account.status,
        platform_user_id=account.platform_user_id,
        logged_in=account.logged_in,
        sealed_credentials=account.sealed_credentials,
        proxy=proxy,
        crawl=account.crawl,
        revision=account.revision,
    )


class State:
    def __init__(self) -> None:
        self.accounts: dict[str, AccountState] = {}
        self.workers: dict[str, WorkerState] = {}
        self.logins: dict[str, LoginState] = {}
        self.replies: dict[str, ReplyState] = {}
        self.crawls: dict[str, CrawlRequest] = {}  # by account: the newest crawl request not yet sent
        self.position = 0
        self.dirty_configs: set[str] = set()
        self.placement_dirty = True
        self.requests_dirty = True
        self._handlers: dict[type[c.Fact], Callable[[Any, int], None]] = {
            c.AccountCreated: self._account_created,
            c.AccountUpdated: self._account_updated,
            c.AccountDeleted: self._account_deleted,
            c.AccountAssigned: self._account_assigned,
            c.AccountUnassigned: self._account_unassigned,
            c.AccountSessionExpired: self._session_expired,
            c.AccountLoggedOut: self._session_expired,
            c.AccountPinned: self._account_pinned,
            c.WorkerRegistered: self._worker_registered,
            c.WorkerStopped: self._worker_status("stopped"),
            c.WorkerWentOffline: self._worker_status("offline"),
            c.LoginRequested: self._login_requested,
            c.LoginQrcodeReady: self._login_progress,
            c.LoginQrcodeRefreshed: self._login_progress,
            c.LoginVerificationRequired: self._login_progress,
            c.LoginSmsCodeRejected: self._login_progress,
            c.LoginSmsCodeSubmitted: self._sms_code_submitted,
            c.LoginSucceeded: self._login_succeeded,
            c.LoginFailed: self._login_over,
            c.LoginExpired: self._login_over,
            c.ReplyRequested: self._reply_requested,
            c.ReplySent: self._reply_over,
            c.ReplyFailed: self._reply_over,
        }

    def apply(self, rec: Recorded) -> None:
        self.position = rec.seq
        fact = rec.fact
        handler = self._handlers.get(type(fact))
        if handler is not None:
            handler(fact, rec.seq)
        elif fact.aggregate == "account" and fact.aggregate_id in self.accounts:
            # Reports that change no decision (blocked, crawl failures, crawl requests) still move the
            # sequence a decision on the account must expect.
            self.accounts[fact.aggregate_id].seq = rec.seq
            if isinstance(fact, c.AccountCrawlRequested):
                self.crawls[fact.account_id] = CrawlRequest(account_id=fact.account_id, seq=rec.seq, at_ms=rec.time_ms)
                self.requests_dirty = True

    def take_dirty_configs(self) -> set[str]:
        dirty, self.dirty_configs = self.dirty_configs, set()
        return dirty

    # ------------------------------------------------------------------ account

    def _account(self, account_id: str, seq: int) -> AccountState | None:
        """The account a fact is about, with its sequences moved on; None for an account never created."""
        account = self.accounts.get(account_id)
        if account is None:
            return None
        account.seq = account.revision = seq
        self.dirty_configs.add(account_id)
        return account

    def _account_created(self, f: c.AccountCreated, seq: int) -> None:
        if f.account_id in self.accounts:
            return
        self.accounts[f.account_id] = AccountState(
            account_id=f.account_id,
            platform=f.platform,
            account_name=f.account_name,
            monitor_interval=f.monitor_interval,
            platform_user_id=f.platform_user_id,
            proxy_id=f.proxy_id,
            seq=seq,
            revision=seq,
        )
        self.dirty_configs.add(f.account_id)
        self.placement_dirty = True

    def _account_updated(self, f: c.AccountUpdated, seq: int) -> None:
        account = self._account(f.account_id, seq)
        if account is None or account.status == "deleted":
            return
        for name in ("account_name", "monitor_interval", "platform_user_id", "proxy_id", "status", "crawl"):
            value = getattr(f, name)
            if value is not None:
                setattr(account, name, value)
        self.placement_dirty = self.placement_dirty or f.status is not None

    def _account_deleted(self, f: c.AccountDeleted, seq: int) -> None:
        account = self._account(f.account_id, seq)
        if account is not None:
            account.status = "deleted"
            account.logged_in, account.sealed_credentials = False, None
            self.placement_dirty = True

    def _account_assigned(self, f: c.AccountAssigned, seq: int) -> None:
        account = self._account(f.account_id, seq)
        if account is not None:
            account.worker_id = f.worker_id
            self.placement_dirty = True
            self.requests_dirty = True  # a login may be waiting for a worker

    def _account_unassigned(self, f: c.AccountUnassigned, seq: int) -> None:
        account = self._account(f.account_id, seq)
        if account is not None and account.worker_id == f.worker_id:
            account.worker_id = None
            self.placement_dirty = True

    def _session_expired(self, f: c.AccountSessionExpired | c.AccountLoggedOut, seq: int) -> None:
        account = self._account(f.account_id, seq)
        if account is not None:
            # The stored session no longer works (or is destroyed); the worker waits for a new login.
            account.logged_in, account.sealed_credentials = False, None

    def _account_pinned(self, f: c.AccountPinned, seq: int) -> None:
        account = self._account(f.account_id, seq)
        if account is not None:
            account.pinned_worker = f.worker_id
            self.placement_dirty = True

    # ------------------------------------------------------------------ worker

    def _worker_registered(self, f: c.WorkerRegistered, seq: int) -> None:
        self.workers[f.worker_id] = WorkerState(
            worker_id=f.worker_id, platforms=list(f.platforms), max_accounts=f.max_accounts, seq=seq
        )
        self.placement_dirty = True

    def _worker_status(self, status: Literal["stopped", "offline"]) -> Callable[[Any, int], None]:
        def fold(f: c.WorkerStopped | c.WorkerWentOffline, seq: int) -> None:
            worker = self.workers.get(f.worker_id)
            if worker is not None:
                worker.status, worker.seq = status, seq
                self.placement_dirty = True

        return fold

    # ------------------------------------------------------------------ login

    def _login_requested(self, f: c.LoginRequested, seq: int) -> None:
        self.logins[f.login_id] = LoginState(
            login_id=f.login_id,
            account_id=f.account_id,
            expires_at_ms=f.expires_at_ms,
            seq=seq,
            sealed_import=f.sealed_import,
        )
        self.requests_dirty = True

    def _sms_code_submitted(self, f: c.LoginSmsCodeSubmitted, seq: int) -> None:
        login = self.logins.get(f.login_id)
        if login is not None:
            login.seq = seq
            login.codes.append((seq, f.sealed_code))
            self.requests_dirty = True

    def _login_progress(self, f: c.LoginQrcodeReady, seq: int) -> None:
        login = self.logins.get(f.login_id)
        if login is not None:
            login.seq = seq

    def _login_succeeded(self, f: c.LoginSucceeded, seq: int) -> None:
        self.logins.pop(f.login_id, None)
        account = self.accounts.get(f.account_id)
        # A success after expiry still counts: the credentials it reports are real.
        if account is not None and account.status != "deleted":
            account.logged_in, account.sealed_credentials = True, f.sealed_credentials
            account.platform_user_id = f.profile.uid
            account.revision = seq
            self.dirty_configs.add(f.account_id)

    def _login_over(self, f: c.LoginFailed | c.LoginExpired, seq: int) -> None:
        self.logins.pop(f.login_id, None)

    # ------------------------------------------------------------------ reply

    def _reply_requested(self, f: c.ReplyRequested, seq: int) -> None:
        command = ReplySend(
            reply_id=f.reply_id,
            request_id=f.request_id,
            account_id=f.account_id,
            target_type=f.target_type,
            target_id=f.target_id,
            content=f.content,
            video_id=f.video_id,
            user_id=f.user_id,
            conversation_id=f.conversation_id,
        )
        self.replies[f.reply_id] = ReplyState(command=command, seq=seq)
        self.requests_dirty = True

    def _reply_over(self, f: c.ReplySent | c.ReplyFailed, seq: int) -> None:
        self.replies.pop(f.reply_id, None)
