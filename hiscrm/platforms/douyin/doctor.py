"""`hiscrm doctor`: on a logged-in account, visit every page the adapter uses and say, expectation by
expectation (expectations.py), what still holds: endpoints seen with their fields, selectors found,
page data read, times parsed. It reads and clicks (回复 opens an editor) but never sends.

Each step runs on its own, so one broken expectation does not hide the others; what a step could not
reach is "not_checked" with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from playwright.async_api import BrowserContext, Page
from playwright.async_api import Error as PlaywrightError

from hiscrm.platforms.base import Finding, PlatformTrouble
from hiscrm.platforms.capture import Capture
from hiscrm.platforms.douyin import answers, parse, site
from hiscrm.platforms.douyin import expectations as x
from hiscrm.platforms.douyin.chat import open_chat, open_conversation, read_messages
from hiscrm.platforms.douyin.comments import LAYOUTS, CommentPage
from hiscrm.platforms.douyin.notices import notice_page
from hiscrm.platforms.douyin.pages import new_page, open_creator_page, wait_for_count
from hiscrm.platforms.douyin.profile import read_me
from hiscrm.platforms.douyin.run import CrawlRun
from hiscrm.platforms.douyin.site import Site

STEP_TIMEOUT_S = 15.0
SELECTOR_TIMEOUT_MS = 5_000

NOT_CHECKED = {
    "login": "needs the login view; the account is logged in",
    "trouble": "a trouble signal: seen only when the site shows trouble",
    "comments.reply_answer": "met only when a reply is sent; the doctor never sends",
    "send.toast": "met only when a send is refused; the doctor never sends",
}


def fields_missing(data: Any, fields: tuple[str, ...]) -> list[str]:
    """The dotted paths (`[]`: every item of a list) that `data` lacks."""
    return [f for f in fields if not _has(data, f.split("."))]


def _has(data: Any, path: list[str]) -> bool:
    if not path:
        return True
    head, rest = path[0], path[1:]
    every = head.endswith("[]")
    key = head.removesuffix("[]")
    if not isinstance(data, dict) or key not in data or data[key] is None:
        return False
    value = data[key]
    if every:
        return isinstance(value, list) and all(_has(item, rest) for item in value)
    return _has(value, rest)


class Doctor:
    def __init__(self, page: Page, st: Site) -> None:
        self.page, self.site = page, st
        self.results: dict[str, tuple[str, str]] = {}
        self.sockets: list[str] = []
        page.on("websocket", lambda socket: self.sockets.append(socket.url))

    def holds(self, name: str, ok: bool, detail: str = "") -> None:
        self.results[name] = ("holds" if ok else "broken", detail)

    def skip(self, name: str, why: str) -> None:
        self.results.setdefault(name, ("not_checked", why))

    def fields(self, name: str, data: dict[str, Any]) -> None:
        missing = fields_missing(data, x.by_name(name).fields)
        self.holds(name, not missing, f"missing {', '.join(missing)}" if missing else "")

    async def found(self, name: str, selector: str, count: int = 1) -> bool:
        try:
            await self.page.locator(selector).nth(count - 1).wait_for(state="attached", timeout=SELECTOR_TIMEOUT_MS)
        except PlaywrightError:
            self.holds(name, False, f"{selector} not found")
            return False
        self.holds(name, True)
        return True

    async def step(self, names: list[str], run: Callable[[], Awaitable[None]]) -> None:
        """Runs a step; if it breaks off, the expectations it had not reached are broken with the error
        (the first) or not checked (the rest)."""
        try:
            await run()
        except PlatformTrouble:
            raise
        except Exception as exc:  # a step reports what broke; it never ends the doctor
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            pending = [n for n in names if n not in self.results]
            if pending:
                self.holds(pending[0], False, first[:200])
            for name in pending[1:]:
                self.skip(name, f"not reached: {pending[0]} broke")

    # ------------------------------------------------------------------ the pages

    async def home(self) -> None:
        with Capture(self.page, [x.USER_INFO]) as capture:
            await open_creator_page(self.page, self.site, site.HOME)
            self.fields("home.user_info", answers.ok((await capture.wait_for(x.USER_INFO, timeout=STEP_TIMEOUT_S))[-1]))
        await self.found("home.unique_id", x.UNIQUE_ID)
        await self.found("home.header_avatar", x.HEADER_AVATAR)

    async def works(self) -> dict[str, Any]:
        """The works page; returns the generation and a work with comments to look at."""
        with Capture(self.page, [x.ITEM_LIST, x.WORK_LIST]) as capture:
            await open_creator_page(self.page, self.site, site.WORKS)
            data = answers.ok((await capture.wait_for(x.ITEM_LIST, timeout=STEP_TIMEOUT_S))[0])
            self.fields("works.item_list", data)
            items = data.get("item_info_list") or []
            unparsed = [i.get("create_time") for i in items if parse.display_time_ms(i.get("create_time", "")) is None]
            self.holds("works.item_time", not unparsed, f"not parsed: {unparsed[0]!r}" if unparsed else "")
            self.fields("works.work_list", answers.ok((await capture.wait_for(x.WORK_LIST, timeout=STEP_TIMEOUT_S))[0]))
            if items:
                await wait_for_count(self.page, x.WORK_ROW, len(items))
            self.holds("works.row", True)
            linked = await self.page.locator(x.WORK_DETAIL_LINK).count() > 0
            self.holds(
                "works.detail_link", True, "present: work-detail pages" if linked else "absent: older comment page"
            )
        work = next((str(i["item_id_plain"]) for i in items if int(i.get("comment_count") or 0)), None)
        return {"generation": "work_detail" if linked else "interactive", "work": work}

    async def comments(self, generation: str, aweme_id: str) -> None:
        layout = LAYOUTS[generation]
        prefix = "comments" if generation == "interactive" else "work_detail"
        async with CommentPage(self.page, self.site, layout, aweme_id) as comments:
            if generation == "interactive":
                self.holds("comments.select_work", True)
                self.holds("comments.work_option", True)
                self.skip("comments.more_works", "the work was among the first works listed")
            if await self.found("comments.top_editor", x.TOP_EDITOR):
                self.holds("comments.top_placeholder", True)
            data = await comments.next_page()
            assert data is not None
            self.fields(f"{prefix}.v2_list" if generation == "interactive" else "work_detail.list", data)
            self.holds(f"{prefix}.row" if generation == "work_detail" else "comments.text", True)
            items = layout.items(data)
            first = items[0]
            row = await comments.row(first)
            for name in ("row", "author", "text"):
                self.holds(f"{prefix}.{name}", True)
            operations = x.OLD_OPERATIONS if generation == "interactive" else x.NEW_OPERATIONS
            self.holds(f"{prefix}.operations", await row.locator(operations).count() > 0)
            control = layout.reply_control(row)
            self.holds("comments.reply_control", await control.count() == 1)
            threaded = next((c for c in items if layout.replies_of(c)), None)
            if threaded is None:
                self.skip(f"{prefix}.expand", "no thread on the first page")
                self.skip(layout_replies_name(generation), "no thread on the first page")
            else:
                replies = await comments.open_thread(threaded)
                self.holds(f"{prefix}.expand", bool(replies))
                self.fields(layout_replies_name(generation), answers.ok(comments.capture.of(layout.replies_tail)[0]))
            await control.click()
            editor = layout.editor(row)
            await editor.wait_for(timeout=SELECTOR_TIMEOUT_MS)
            self.holds(f"{prefix}.editor", True)
            sends = await layout.send(row).count() == 1
            if generation == "interactive":
                self.holds("comments.send", sends)
            self.holds("send.text", sends)

    async def chat(self) -> None:
        me = await read_me(self.page, self.site)
        with Capture(self.page, [x.IM_USERS, x.IM_HISTORY]) as capture:
            peers, conversations = await open_chat(self.page, self.site, capture)
            self.fields("chat.user_detail", answers.ok(capture.of(x.IM_USERS)[0]))
            for name, selector in (
                ("chat.grid", x.CONVERSATION_GRID),
                ("chat.scroller", x.CONVERSATION_SCROLLER),
                ("chat.row", x.CONVERSATION_ROW),
            ):
                await self.found(name, selector)
            if not conversations:
                for name in ("chat.row_name", "chat.conversation_data", "chat.header_name", "chat.messages"):
                    self.skip(name, "the account has no conversation")
                return
            await self.found("chat.row_name", x.CONVERSATION_NAME)
            unread = [i for i, c in enumerate(conversations) if c is None or peers.of(c, me) is None]
            self.holds(
                "chat.conversation_data", not unread, f"row {unread[0]} has no conversation or peer" if unread else ""
            )
            first = conversations[0]
            assert first is not None
            await open_conversation(self.page, first["id"], first["last"])
            await self.found("chat.header_name", x.CHAT_PEER_NAME)
            await self.found("chat.messages", x.MESSAGE_PANEL)
            rows = await read_messages(self.page)
            missing = sorted({f for r in rows for f in fields_missing(r["m"], x.by_name("chat.message_data").fields)})
            self.holds(
                "chat.message_data", bool(rows) and not missing, f"missing {', '.join(missing)}" if missing else ""
            )
            times = [r["m"].get("createdAt") for r in rows if parse.im_time_ms(r["m"].get("createdAt")) is None]
            self.holds("chat.message_time", not times, f"not parsed: {times[0]!r}" if times else "")
            if any(r["fromMe"] for r in rows):
                self.holds("chat.from_me", True)
            else:
                self.skip("chat.from_me", "no own message in the first conversation")
            if await self.page.locator(x.MESSAGE_PANEL).locator(x.NO_MORE).count():
                self.holds("chat.no_more", True)
            else:
                self.skip("chat.no_more", "the first conversation has older history")
            await self.found("chat.editor", x.DM_EDITOR)
            await capture.settle()
            self.holds("chat.history", bool(capture.of(x.IM_HISTORY)), "" if capture.of(x.IM_HISTORY) else "not seen")
        socket = any(re.search(re.escape(x.PUSH_SOCKET.rstrip("/")) + r"/?(\?|$)", url) for url in self.sockets)
        self.holds("chat.push_socket", socket, "" if socket else "the page opened no push socket")

    async def notices(self, account_id: str) -> None:
        run = CrawlRun(page=self.page, site=self.site, account_id=account_id, cursor={}, known=_NoneKnown(), sink=_drop)
        self.fields("notices.list", await notice_page(run, 0, 0))


# Met on the comment page of either generation.
_BOTH_GENERATIONS = ("comments.top_editor", "comments.top_placeholder", "comments.reply_control", "send.text")


def layout_replies_name(generation: str) -> str:
    return "comments.v2_replies" if generation == "interactive" else "work_detail.replies"


class _NoneKnown:
    def refs(self, kind: str, item_id: str) -> tuple[str, ...] | None:
        return None


async def _drop(observation: object) -> None:
    return None


async def check(context: BrowserContext, st: Site, account_id: str) -> list[Finding]:
    page = await new_page(context)
    doctor = Doctor(page, st)
    try:
        await doctor.step(["home.user_info", "home.unique_id", "home.header_avatar"], doctor.home)
        state: dict[str, Any] = {}

        async def works() -> None:
            state.update(await doctor.works())

        await doctor.step(
            ["works.item_list", "works.item_time", "works.work_list", "works.row", "works.detail_link"], works
        )
        generation = state.get("generation")
        for e in x.EXPECTATIONS:
            if e.generation and generation and e.generation != generation:
                doctor.skip(e.name, f"the account has the {generation} comment page")
        if generation and state.get("work"):
            names = [e.name for e in x.EXPECTATIONS if e.generation == generation] + list(_BOTH_GENERATIONS)
            await doctor.step(names, lambda: doctor.comments(generation, state["work"]))
        else:
            for e in x.EXPECTATIONS:
                if e.generation or e.name in _BOTH_GENERATIONS:
                    doctor.skip(e.name, "no work with comments to look at")
        chat_names = [e.name for e in x.EXPECTATIONS if e.name.startswith("chat.")]
        await doctor.step(chat_names, doctor.chat)
        await doctor.step(["notices.list"], lambda: doctor.notices(account_id))
    finally:
        await page.close()
    findings = []
    for e in x.EXPECTATIONS:
        reason = next((why for prefix, why in NOT_CHECKED.items() if e.name.startswith(prefix)), "not reached")
        status, detail = doctor.results.get(e.name, ("not_checked", reason))
        findings.append(
            Finding(name=e.name, kind=e.kind, page=e.page, value=e.value, source=e.source, status=status, detail=detail)
        )
    return findings
