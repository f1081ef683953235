"""The creator home: proves the session still works and names the account (for its outbound messages)."""

from __future__ import annotations

from hiscrm.platforms.capture import Capture
from hiscrm.platforms.douyin import answers, parse, site
from hiscrm.platforms.douyin.pages import open_creator_page
from hiscrm.platforms.douyin.run import CrawlRun


async def read_profile(run: CrawlRun) -> None:
    with Capture(run.page, [site.USER_INFO]) as capture:
        await open_creator_page(run.page, run.site, site.HOME)
        found = await capture.wait_for(site.USER_INFO)
    run.me = parse.person(answers.ok(found[-1])["user"])
