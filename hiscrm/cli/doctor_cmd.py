"""`hiscrm doctor --account A`: on the logged-in account, visit every page its platform adapter uses
and report, expectation by expectation, what still holds; record drift as `account.adapter_drift`.

It opens the account's session the way its worker does (the credentials its config names, unsealed
with the account's key) in a Chromium of its own, so it runs beside the worker without touching it.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections import Counter

import msgspec
from nats.js.errors import BucketNotFoundError
from rich.console import Console
from rich.table import Table

from hiscrm import platforms
from hiscrm.cli.runtime import SubParsers, command, nats_client, settings
from hiscrm.config import env
from hiscrm.errors import HiscrmError
from hiscrm.facts.catalogue import AccountAdapterDrift, DriftedExpectation
from hiscrm.facts.messages import AccountConfig
from hiscrm.facts.subjects import CONFIG_BUCKET, account_config_keys, event_subject, token
from hiscrm.platforms.base import Finding, PlatformOptions
from hiscrm.secrets.keystore import KeyStore
from hiscrm.secrets.sealing import load_master_key
from hiscrm.store.connection import HiscrmClient
from hiscrm.store.event_store import EventStore
from hiscrm.worker.browser import Chromium
from hiscrm.worker.credentials import Credentials
from hiscrm.worker.proxy import playwright_proxy

STATUS_STYLE = {"holds": "green", "broken": "bold red", "not_checked": "dim"}


def register(sub: SubParsers) -> None:
    parser = command(sub, "doctor", "check, on a logged-in account, every page, endpoint and selector the adapter uses")
    parser.add_argument("--account", required=True, help="the account id")
    parser.add_argument("--json", action="store_true", help="one JSON object instead of a table")
    parser.add_argument(
        "--base-url", default=None, help="the platform's origin, e.g. the sandbox (HISCRM_<PLATFORM>_BASE_URL)"
    )
    parser.add_argument("--no-record", action="store_true", help="do not append account.adapter_drift, only report")
    parser.set_defaults(func=run)


async def _config(nc: HiscrmClient, account_id: str) -> AccountConfig:
    try:
        bucket = await nc.jetstream().key_value(CONFIG_BUCKET)
    except BucketNotFoundError:
        raise HiscrmError(f"the broker has no {CONFIG_BUCKET} bucket: run `hiscrm streams apply`") from None
    found = None
    # A watcher created under load has been seen to mark its current values delivered before the one
    # there is (CI, two test processes); a second look costs nothing when the account truly has none.
    for _ in range(2):
        watcher = await bucket.watch(account_config_keys(account_id), include_history=False)
        try:
            async for entry in watcher:
                if entry is None:  # the current values have all been delivered
                    break
                if entry.value:
                    found = entry.value
        finally:
            await watcher.stop()
        if found is not None:
            break
    if found is None:
        raise HiscrmError(f"account {account_id} has no config: it is unknown or no worker holds it")
    config = msgspec.json.decode(found, type=AccountConfig)
    if not (config.logged_in and config.sealed_credentials):
        raise HiscrmError(f"account {account_id} is not logged in; log it in first")
    return config


def drift_tag(broken: list[Finding]) -> str:
    """Names the set of broken expectations: the same drift found again is not recorded again."""
    return hashlib.sha256("\n".join(sorted(f.name for f in broken)).encode()).hexdigest()[:16]


async def record_drift(store: EventStore, account_id: str, platform: str, findings: list[Finding]) -> bool:
    """Appends account.adapter_drift when the set of broken expectations differs from the last one
    recorded (none recorded counts as none broken); True if it appended."""
    broken = [f for f in findings if f.status == "broken"]
    tag = drift_tag(broken)
    last = await store.last_message(event_subject("account", account_id, AccountAdapterDrift.event))
    if (last[1].split(":")[2] if last else drift_tag([])) == tag:
        return False
    counts = Counter(f.status for f in findings)
    fact = AccountAdapterDrift(
        account_id=account_id,
        platform=platform,
        broken=[DriftedExpectation(name=f.name, page=f.page, detail=f.detail or None) for f in broken],
        holding=counts["holds"],
        not_checked=counts["not_checked"],
    )
    await store.append(fact, msg_id=f"drift:{account_id}:{tag}:{last[0] if last else 0}")
    return True


def _table(account_id: str, findings: list[Finding], recorded: bool) -> None:
    console = Console()
    table = Table(title=f"hiscrm doctor: {account_id}", show_lines=False)
    for column in ("expectation", "kind", "page", "expects", "source", "status", "detail"):
        table.add_column(column, overflow="fold")
    for f in findings:
        style = STATUS_STYLE[f.status]
        table.add_row(f.name, f.kind, f.page, f.value, f.source, f"[{style}]{f.status}[/]", f.detail)
    console.print(table)
    counts = Counter(f.status for f in findings)
    console.print(
        f"{counts['holds']} hold, {counts['broken']} broken, {counts['not_checked']} not checked"
        + ("; account.adapter_drift recorded" if recorded else "")
    )


async def run(args: argparse.Namespace) -> int:
    account_id = token(args.account, "account id")
    s = settings(args)
    async with nats_client(args, "hiscrm-doctor") as nc:
        config = await _config(nc, account_id)
        master_key = load_master_key(s.data_dir)
        keys = KeyStore(nc, master_key)
        state = await Credentials(keys, s.data_dir / "browser" / account_id, account_id).load(config)
        if state is None:
            raise HiscrmError(f"the credentials of account {account_id} cannot be opened (was its key destroyed?)")
        base_url = args.base_url or env(f"{config.platform.upper()}_BASE_URL")
        platform = platforms.load(config.platform, PlatformOptions(base_url=base_url))
        chromium = Chromium()
        try:
            context = await chromium.new_context(account_id, state, playwright_proxy(config.proxy, master_key))
            try:
                findings = await platform.check(context, account_id)
            finally:
                await context.close()
        finally:
            await chromium.stop()
        recorded = (
            False if args.no_record else await record_drift(EventStore(nc), account_id, config.platform, findings)
        )
    broken = sum(1 for f in findings if f.status == "broken")
    if args.json:
        out = {"account_id": account_id, "platform": config.platform, "recorded": recorded, "broken": broken}
        sys.stdout.write(msgspec.json.encode({**out, "findings": findings}).decode() + "\n")
    else:
        _table(account_id, findings, recorded)
    return 1 if broken else 0
