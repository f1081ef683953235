"""The creator home: proves the session still works and names the account (for its outbound messages)."""

from __future__ import annotations

from playwright.async_api import Page

from hiscrm.facts.catalogue import Person
from hiscrm.platforms.capture import Capture
from hiscrm.platforms.douyin import answers, parse, site
from hiscrm.platforms.douyin import expectations as x
from hiscrm.platforms.douyin.pages import open_creator_page
from hiscrm.platforms.douyin.run import CrawlRun
from hiscrm.platforms.douyin.site import Site


async def read_me(page: Page, st: Site) -> Person:
    with Capture(page, [x.USER_INFO]) as capture:
        await open_creator_page(page, st, site.HOME)
        found = await capture.wait_for(x.USER_INFO)
    data = answers.ok(found[-1])
    if "user" not in data:
        raise answers.missing(x.USER_INFO, "user")
    return parse.person(data["user"])


async def read_profile(run: CrawlRun) -> None:
    run.me = await read_me(run.page, run.site)
