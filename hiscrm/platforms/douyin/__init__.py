"""The Douyin creator web adapter. Every endpoint, selector and text it depends on: expectations.py."""

from __future__ import annotations

from playwright.async_api import BrowserContext

from hiscrm.facts.catalogue import CrawlSwitches
from hiscrm.facts.messages import ReplySend
from hiscrm.platforms.base import Cursor, Finding, Known, LoginReport, LoginResult, Observe, PlatformOptions
from hiscrm.platforms.douyin import doctor
from hiscrm.platforms.douyin.crawl import crawl_pass
from hiscrm.platforms.douyin.live import watch_chat
from hiscrm.platforms.douyin.login import check_session, qr_login
from hiscrm.platforms.douyin.reply import comment_on_work, reply_to_comment, send_dm
from hiscrm.platforms.douyin.site import Site


class Douyin:
    name = "douyin"

    def __init__(self, st: Site) -> None:
        self.site = st

    async def login(self, context: BrowserContext, deadline_ms: int, report: LoginReport) -> LoginResult:
        return await qr_login(context, self.site, deadline_ms, report)

    async def check_session(self, context: BrowserContext) -> LoginResult:
        return await check_session(context, self.site)

    async def crawl(
        self,
        context: BrowserContext,
        account_id: str,
        cursor: Cursor,
        known: Known,
        observe: Observe,
        parts: CrawlSwitches | None = None,
    ) -> None:
        await crawl_pass(context, self.site, account_id, cursor, known, observe, parts)

    async def send(self, context: BrowserContext, request: ReplySend, known: Known) -> str | None:
        if request.target_type == "comment":
            return await reply_to_comment(context, self.site, request, known)
        if request.target_type == "work":
            return await comment_on_work(context, self.site, request, known)
        return await send_dm(context, self.site, request, known)

    async def watch(self, context: BrowserContext, account_id: str, observe: Observe) -> None:
        await watch_chat(context, self.site, account_id, observe)

    async def check(self, context: BrowserContext, account_id: str) -> list[Finding]:
        return await doctor.check(context, self.site, account_id)


def create(options: PlatformOptions) -> Douyin:
    return Douyin(Site.at(options.base_url))
