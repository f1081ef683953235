"""What travels on the bus besides facts: KV values and commands. Typed here, validated at the edge."""

from __future__ import annotations

from typing import Literal

import msgspec

from hiscrm.facts.catalogue import CrawlSwitches, ReplyTarget


class Presence(msgspec.Struct, kw_only=True, omit_defaults=True):
    """`hiscrm_presence.<worker_id>`: refreshed every 10 s; its expiry is the worker's death notice."""

    worker_id: str
    platforms: list[str]
    max_accounts: int
    accounts: int = 0
    host: str | None = None
    pid: int | None = None
    started_at_ms: int | None = None
    version: str | None = None
    memory_bytes: int | None = None  # PSS of the worker, its driver and its Chromium, at the last beat


class ProxyConfig(msgspec.Struct, kw_only=True, omit_defaults=True):
    """`hiscrm_proxies.<proxy_id>`; `sealed_password` is sealed with the master key for `proxy:<proxy_id>`."""

    proxy_id: str
    server: str
    name: str | None = None
    protocol: Literal["http", "https", "socks5"] = "http"
    username: str | None = None
    sealed_password: str | None = None


class AccountConfig(msgspec.Struct, kw_only=True, omit_defaults=True):
    """`hiscrm_config.<worker_id>.<account_id>`: everything a worker needs to run one account.

    `revision` is the stream sequence of the newest fact this config reflects; a worker applies a
    config only if its revision is higher than the one it runs, so an old one never comes back.
    """

    account_id: str
    worker_id: str
    platform: str
    account_name: str
    monitor_interval: int
    status: Literal["active", "disabled"] = "active"
    platform_user_id: str | None = None
    logged_in: bool = False
    sealed_credentials: str | None = None
    proxy: ProxyConfig | None = None
    crawl: CrawlSwitches = CrawlSwitches()
    revision: int = 0


class WorkerLoad(msgspec.Struct, kw_only=True):
    worker_id: str
    platforms: list[str]
    max_accounts: int
    accounts: int


class CoordinatorStatus(msgspec.Struct, kw_only=True):
    """`hiscrm_presence._coordinator_status`: the leading coordinator's view, for the API.

    Written when it changes and at least every 10 s; the bucket's 30 s max age removes it once no
    coordinator leads. `unassigned` maps each active account that no live worker can take to why.
    """

    coordinator_id: str
    leader_since_ms: int
    updated_at_ms: int
    position: int  # the newest fact sequence the coordinator has folded
    workers: list[WorkerLoad]
    unassigned: dict[str, str]


class LoginStart(msgspec.Struct, kw_only=True, omit_defaults=True):
    login_id: str
    account_id: str
    expires_at_ms: int
    # Set for a session import: the browser state to check instead of showing a QR.
    sealed_import: str | None = None


class LoginSmsCode(msgspec.Struct, kw_only=True):
    """An operator's SMS code for a login under way; `seq` (of its fact) orders codes sent again."""

    login_id: str
    account_id: str
    sealed_code: str
    seq: int


class ReplySend(msgspec.Struct, kw_only=True, omit_defaults=True):
    reply_id: str
    request_id: str
    account_id: str
    target_type: ReplyTarget
    target_id: str
    content: str
    video_id: str | None = None
    user_id: str | None = None
    conversation_id: str | None = None


class CrawlNow(msgspec.Struct, kw_only=True, omit_defaults=True):
    account_id: str
    reason: str | None = None


COMMAND_TYPES: dict[str, type[msgspec.Struct]] = {
    "login_start": LoginStart,
    "reply_send": ReplySend,
    "crawl_now": CrawlNow,
    "login_sms_code": LoginSmsCode,
}
