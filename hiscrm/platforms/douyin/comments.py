"""Comments and replies of the works whose comment count moved since the last pass.

Two generations of the comment page exist and the adapter handles both (expectations.py):

- interactive/comment (older): a work is picked through "选择作品"; comments come from the V2 select
  API with numeric cids; "查看N条回复" loads a thread through the V2 reply API.
- work-detail (newer): the work's own page; comments come from the creator comment API with
  encrypted "@j/" ids; a `load-reply-*` button loads a thread through the creator reply API.

The works page tells which one the account has (crawl), and a comment's id form tells which page
showed it (reply). Rows carry no ids: a comment's row is the one showing its author and exact text,
taken from the page's own answer; a row that is not unique is never acted on, unless the rows are one
comment shown twice (the list grew between two of its pages, which are read by offset). A reply is
typed in the editor that 回复 opened, once its row is checked to show the comment.

A pass pages on (scrolling the list's end into view, the page loads more) only until it has found as
many new comments and replies as the work's count grew by, and opens only threads whose reply
total moved.
"""

from __future__ import annotations

import re
from typing import Any

from playwright.async_api import Locator, Page

from hiscrm.facts.catalogue import CommentObserved, ContentObserved
from hiscrm.platforms.base import SendRefused
from hiscrm.platforms.capture import Answer, Capture
from hiscrm.platforms.douyin import answers, parse, site
from hiscrm.platforms.douyin import expectations as x
from hiscrm.platforms.douyin.pages import open_creator_page, scroll_past, wait_for_count
from hiscrm.platforms.douyin.run import CrawlRun
from hiscrm.platforms.douyin.site import Site

# Cursor keys: what the last pass saw, so the next one reads only what moved.
WORK_TOTAL = "comments:"  # + aweme_id -> comment_count (replies included)
THREAD_TOTAL = "replies:"  # + top-level comment id -> its reply total
MAX_WORK_PAGES = 50  # of the work picker

# `shows(r, author, text, name, wanted)`: whether row r shows this author and exactly this text (the
# reply-to prefix aside).
_SHOWS = """
const shows = (r, author, text, name, wanted) => {
  const shown = (node) => Array.from(node.childNodes)
    .filter(n => !(n.matches && n.matches('[class^="reply-to-"]'))).map(n => n.textContent).join('').trim();
  const a = r.querySelector(author), t = r.querySelector(text);
  return !!a && !!t && a.textContent.trim() === name && shown(t) === wanted;
};
"""

# The indexes of the rows showing this author and exactly this text.
_ROWS_SHOWING = (
    _SHOWS
    + """([row, author, text, name, wanted]) => Array.from(document.querySelectorAll(row))
  .map((r, i) => (shows(r, author, text, name, wanted) ? i : -1)).filter(i => i >= 0)"""
)

# Whether the one reply editor open in a row is in a row showing this author and text. 回复 is clicked on
# a row found by its place in the list a moment before; the editor, once open, stays with its row.
_EDITOR_UNDER = (
    _SHOWS
    + """([row, editor, author, text, name, wanted]) => {
  const rows = Array.from(document.querySelectorAll(editor)).map(e => e.closest(row)).filter(Boolean);
  return rows.length === 1 && shows(rows[0], author, text, name, wanted);
}"""
)
# Clicks on 回复 before refusing: a row clicked can have moved between finding and clicking it.
REPLY_ATTEMPTS = 3


def _shown_text(c: dict[str, Any]) -> str:
    return (c.get("text") or "").strip()


class Layout:
    """What differs between the two comment pages."""

    generation: str
    comments_tail: str  # the list endpoint
    replies_tail: str  # a thread's endpoint
    rows: str  # counted to know the page rendered an answer
    row: str
    author: str
    text: str
    editor_in_row: str  # a reply editor, once 回复 opened it in a row

    def items(self, data: dict[str, Any]) -> list[dict[str, Any]]: ...

    def id_of(self, c: dict[str, Any]) -> str: ...

    def replies_of(self, c: dict[str, Any]) -> int: ...

    def author_of(self, c: dict[str, Any]) -> str: ...

    def observation(
        self, run: CrawlRun, c: dict[str, Any], aweme_id: str, parent: str | None, title: str | None
    ) -> CommentObserved: ...

    async def open(self, page: Page, st: Site, capture: Capture, aweme_id: str) -> None: ...

    def expand(self, row: Locator) -> Locator: ...

    def reply_control(self, row: Locator) -> Locator: ...

    def editor(self, row: Locator) -> Locator:
        return row.locator(self.editor_in_row).first

    def send(self, row: Locator) -> Locator: ...


class Interactive(Layout):
    generation = "interactive"
    comments_tail, replies_tail = x.V2_LIST, x.V2_REPLIES
    rows, row, author, text = x.OLD_TEXT, x.OLD_ROW, x.OLD_AUTHOR, x.OLD_TEXT
    editor_in_row = x.OLD_EDITOR

    def items(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        return data["comments"]

    def id_of(self, c: dict[str, Any]) -> str:
        return str(c["cid"])

    def replies_of(self, c: dict[str, Any]) -> int:
        return int(c.get("reply_comment_total") or 0)

    def author_of(self, c: dict[str, Any]) -> str:
        return str(c["user"].get("nickname") or "")

    def observation(
        self, run: CrawlRun, c: dict[str, Any], aweme_id: str, parent: str | None, title: str | None
    ) -> CommentObserved:
        return parse.comment(run.account_id, c, title, run.now_ms(), run.me)

    async def open(self, page: Page, st: Site, capture: Capture, aweme_id: str) -> None:
        """The comment page, with the work picked in "选择作品" by its place in the page's work list."""
        await open_creator_page(page, st, site.COMMENTS)
        await page.get_by_text(x.SELECT_WORK, exact=True).click()
        for shown in range(1, MAX_WORK_PAGES + 1):
            pages = await capture.wait_for(x.ITEM_LIST, shown)
            listed = [str(i["item_id_plain"]) for a in pages for i in answers.ok(a)["item_info_list"]]
            if aweme_id in listed:
                await wait_for_count(page, x.WORK_OPTION, listed.index(aweme_id) + 1)
                await page.locator(x.WORK_OPTION).nth(listed.index(aweme_id)).click()
                return
            if not answers.ok(pages[-1]).get("has_more"):
                break
            await page.get_by_text(x.MORE_WORKS, exact=True).click()
        raise SendRefused(f"work {aweme_id} is not among this account's works", "not_found")

    def expand(self, row: Locator) -> Locator:
        return row.get_by_text(re.compile(x.OLD_EXPAND)).first

    def reply_control(self, row: Locator) -> Locator:
        return row.locator(x.OLD_OPERATIONS).first.get_by_text(x.TEXT_REPLY, exact=True)

    def send(self, row: Locator) -> Locator:
        return row.locator(x.OLD_SEND).filter(has_text=x.TEXT_SEND).first


class WorkDetail(Layout):
    generation = "work_detail"
    comments_tail, replies_tail = x.CREATOR_LIST, x.CREATOR_REPLIES
    rows = row = x.NEW_ROW
    author, text = x.NEW_AUTHOR, x.NEW_TEXT
    editor_in_row = x.NEW_EDITOR

    def items(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        return data["comment_info_list"]

    def id_of(self, c: dict[str, Any]) -> str:
        return str(c["comment_id"])

    def replies_of(self, c: dict[str, Any]) -> int:
        return int(c.get("reply_count") or 0)

    def author_of(self, c: dict[str, Any]) -> str:
        return str((c.get("user_info") or {}).get("screen_name") or "")

    def observation(
        self, run: CrawlRun, c: dict[str, Any], aweme_id: str, parent: str | None, title: str | None
    ) -> CommentObserved:
        return parse.creator_comment(run.account_id, c, aweme_id, parent, title, run.now_ms())

    async def open(self, page: Page, st: Site, capture: Capture, aweme_id: str) -> None:
        await open_creator_page(page, st, f"{x.WORK_DETAIL_PREFIX}{aweme_id}{x.WORK_DETAIL_QUERY}")

    def expand(self, row: Locator) -> Locator:
        return row.locator("xpath=..").locator(x.NEW_EXPAND).first

    def reply_control(self, row: Locator) -> Locator:
        return row.locator(x.NEW_OPERATIONS).first.get_by_role("button", name=x.TEXT_REPLY, exact=True)

    def send(self, row: Locator) -> Locator:
        return row.get_by_role("button", name=x.TEXT_SEND, exact=True).first


LAYOUTS: dict[str, Layout] = {"interactive": Interactive(), "work_detail": WorkDetail()}


def layout_of_comment(comment_id: str) -> Layout:
    """The V2 API's cids are digits; the creator API's ids are encrypted ("@j/…")."""
    return LAYOUTS["interactive" if comment_id.isdigit() else "work_detail"]


class CommentPage:
    """One work's comments on the page of a generation: pages of top-level comments as the page loads
    them, threads opened row by row."""

    def __init__(self, page: Page, st: Site, layout: Layout, aweme_id: str) -> None:
        self.page, self.site, self.layout, self.aweme_id = page, st, layout, aweme_id
        self.capture = Capture(page, [layout.comments_tail, layout.replies_tail, x.ITEM_LIST])
        self.pages = 0
        self.shown = 0

    async def __aenter__(self) -> CommentPage:
        self.capture.__enter__()
        await self.layout.open(self.page, self.site, self.capture, self.aweme_id)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.capture.__exit__()

    async def next_page(self) -> dict[str, Any] | None:
        """The next page of top-level comments, once the page rendered it; None after the last."""
        if self.pages and not answers.ok(self.capture.of(self.layout.comments_tail)[self.pages - 1]).get("has_more"):
            return None
        if self.pages:
            await scroll_past(self.page, self.layout.rows)
        data = answers.ok((await self.capture.wait_for(self.layout.comments_tail, self.pages + 1))[self.pages])
        self.pages += 1
        self.shown += len(self.layout.items(data))
        await wait_for_count(self.page, self.layout.rows, self.shown)
        return data

    async def row(self, c: dict[str, Any]) -> Locator:
        """The row showing this comment's author and text. Several rows do when the list grew between two
        of its pages (paged by offset, the comment pushed across a page end is on both): they are one
        comment if the page's answers hold no other comment showing the same."""
        layout = self.layout
        shows = (layout.author_of(c), _shown_text(c))
        found: list[int] = await self.page.evaluate(_ROWS_SHOWING, [layout.row, layout.author, layout.text, *shows])
        alike = {layout.id_of(i) for i in self._answered() if (layout.author_of(i), _shown_text(i)) == shows}
        if not found or (len(found) > 1 and alike != {layout.id_of(c)}):
            what = "no row" if not found else f"{len(found)} rows"
            raise SendRefused(f"{what} on the page show comment {layout.id_of(c)}'s author and text", "not_found")
        return self.page.locator(layout.row).nth(found[0])

    async def open_reply(self, c: dict[str, Any]) -> Locator:
        """Clicks 回复 on the comment's row; the row holding the editor that opened, once that row is
        checked to show the comment. Found by the editor, not by its place: rows above it can come."""
        layout = self.layout
        shows = [layout.author, layout.text, layout.author_of(c), _shown_text(c)]
        for _ in range(REPLY_ATTEMPTS):
            await layout.reply_control(await self.row(c)).click()
            if await self.page.evaluate(_EDITOR_UNDER, [layout.row, layout.editor_in_row, *shows]):
                # Rows nest (a thread's rows inside its comment's): the innermost one holding the editor.
                return self.page.locator(layout.row).filter(has=self.page.locator(layout.editor_in_row)).last
        raise SendRefused(f"回复 did not open under comment {layout.id_of(c)} in {REPLY_ATTEMPTS} clicks", "not_found")

    def _answered(self) -> list[dict[str, Any]]:
        """Every comment and reply the page's answers gave so far."""
        tails = (self.layout.comments_tail, self.layout.replies_tail)
        return [i for tail in tails for a in self.capture.of(tail) for i in self.layout.items(answers.ok(a))]

    async def open_thread(self, c: dict[str, Any]) -> list[dict[str, Any]]:
        """Clicks the thread's expand control; its replies once the page loaded them all."""
        cid = self.layout.id_of(c)
        await self.layout.expand(await self.row(c)).click()
        await self.capture.wait_until(lambda: any(not answers.ok(a).get("has_more") for a in self._replies(cid)))
        return [r for a in self._replies(cid) for r in self.layout.items(answers.ok(a))]

    def _replies(self, cid: str) -> list[Answer]:
        return [a for a in self.capture.of(self.layout.replies_tail) if a.query.get("comment_id") == cid]


async def crawl_comments(run: CrawlRun, works: list[ContentObserved]) -> None:
    for work in works:
        before = run.cursor.get(WORK_TOTAL + work.content_id, 0)
        if work.stats.comments != before:
            await _crawl_work(run, work.content_id, work.stats.comments - before)
            run.cursor[WORK_TOTAL + work.content_id] = work.stats.comments


async def _crawl_work(run: CrawlRun, aweme_id: str, grown_by: int) -> None:
    layout = LAYOUTS[run.generation]
    title = run.titles.get(aweme_id)
    opened: list[tuple[str, int]] = []
    async with CommentPage(run.page, run.site, layout, aweme_id) as comments:
        to_open: list[dict[str, Any]] = []
        listed: set[str] = set()
        found = 0
        while (data := await comments.next_page()) is not None:
            for c in layout.items(data):
                if layout.id_of(c) in listed:
                    continue  # on the last page too: comments came since, pushing it onto this one
                listed.add(layout.id_of(c))
                found += _news_in(run, layout, c, to_open)
                await run.observe(layout.observation(run, c, aweme_id, None, title))
            if found >= grown_by:
                break
        for c in to_open:
            for reply in await comments.open_thread(c):
                await run.observe(layout.observation(run, reply, aweme_id, layout.id_of(c), title))
            opened.append((layout.id_of(c), layout.replies_of(c)))
    for cid, total in opened:
        run.cursor[THREAD_TOTAL + cid] = total


def _news_in(run: CrawlRun, layout: Layout, c: dict[str, Any], to_open: list[dict[str, Any]]) -> int:
    """How many new items this top-level comment accounts for: itself if unseen, plus replies added
    to its thread (the thread is queued to be opened)."""
    cid = layout.id_of(c)
    new = run.known.refs("comment", cid) is None
    total = layout.replies_of(c)
    before = run.cursor.get(THREAD_TOTAL + cid, 0)
    if total and total != before:
        to_open.append(c)
    return int(new) + max(total - before, 0)


def find_in(layout: Layout, data: dict[str, Any], cid: str) -> dict[str, Any] | None:
    return next((c for c in layout.items(data) if layout.id_of(c) == cid), None)


async def find_comment(comments: CommentPage, cid: str, thread: str | None) -> dict[str, Any]:
    """A comment (a reply, when `thread` names its top-level comment), once the page shows it."""
    wanted = thread or cid
    while (data := await comments.next_page()) is not None:
        top = find_in(comments.layout, data, wanted)
        if top is None:
            continue
        if thread is None:
            return top
        reply = next((r for r in await comments.open_thread(top) if comments.layout.id_of(r) == cid), None)
        if reply is None:
            raise SendRefused(f"reply {cid} is not in thread {thread} any more", "not_found")
        return reply
    raise SendRefused(f"comment {wanted} is not on work {comments.aweme_id}", "not_found")
