"""Direct messages, read the way public crawlers of the creator chat read them: peers from the page's
user_detail answer, conversations and messages from the page's own data (the fiber props of the
rows), never from ids in the DOM, which has none. History arrives as protobuf (or JSON), and the
adapter does not read it: whatever the wire format, the page's data has the same shape.

The list is a virtualised grid: only a window of rows is in the DOM, and user_detail is asked for the
rows rendered. A pass scrolls the grid from its top to its end marker, reading each window's rows and
every user_detail answer; opening a conversation scrolls until its row renders.

A conversation is opened only when its last message differs from the last pass's; older history is
loaded (by scrolling the panel up, as a person does) only while its oldest message is unknown.
"""

from __future__ import annotations

from typing import Any

from playwright.async_api import Page

from hiscrm.facts.catalogue import Person
from hiscrm.platforms.base import PlatformError
from hiscrm.platforms.capture import Capture
from hiscrm.platforms.douyin import answers, parse, site
from hiscrm.platforms.douyin import expectations as x
from hiscrm.platforms.douyin.pages import FIBER_PROPS, open_creator_page, wait_for_count
from hiscrm.platforms.douyin.run import CrawlRun

LAST_MESSAGE = "dm:"  # cursor key: + conversation_id -> the last message id the pass read
# Older history is loaded only while its oldest message is unknown, and never further than this.
MAX_HISTORY_PAGES = 20

# Attempts at opening a conversation: a row clicked can have moved between finding and clicking it.
OPEN_ATTEMPTS = 3
# Scrolls of the conversation grid for one walk of it (a pass, or finding one row): each moves by the
# rows rendered, so this is far beyond any inbox a person works through.
MAX_LIST_STEPS = 200

# `conversationOf(row)`: the conversation a row's fiber props carry, or null.
_CONVERSATION_OF = (
    FIBER_PROPS
    + """
const isConversation = (o) => o && typeof o === 'object' && o.id && o.firstPageParticipant;
const conversationOf = (r) => fiberProps(r, (p) => Object.values(p).find(isConversation));
const shapeOf = (c) => c && {
  id: String(c.id),
  shortId: c.shortId ? String(c.shortId) : null,
  participants: (c.firstPageParticipant.participants || []).map((p) => ({
    uid: p.uid ? String(p.uid) : null, sec_uid: p.sec_uid || null})),
  last: c.lastMessage && c.lastMessage.serverId ? String(c.lastMessage.serverId) : '',
};
"""
)

# Per conversation row, in row order: the conversation its fiber props carry.
READ_CONVERSATIONS = (
    _CONVERSATION_OF + """(row) => Array.from(document.querySelectorAll(row)).map((r) => shapeOf(conversationOf(r)))"""
)

# Scrolls the grid so that the rendered row `index` (the last one when null; the list's top when -1)
# comes to its top, then waits a frame for the page's scroll handler; says whether it moved.
_SCROLL_GRID = """async ([scroller, row, index]) => {
  const s = document.querySelector(scroller);
  if (!s) return false;
  const rows = s.querySelectorAll(row);
  const target = index === null ? rows[rows.length - 1] : rows[index];
  const before = s.scrollTop;
  if (index === -1) s.scrollTop = 0;
  else if (target) s.scrollTop = before + target.getBoundingClientRect().top - s.getBoundingClientRect().top;
  await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
  return Math.abs(s.scrollTop - before) >= 1;
}"""

# Once the rendered rows cover the grid's view (or it shows the end marker, or no row): the page
# renders a scrolled-to window after its user_detail answer, and until then shows the old rows.
_RENDERED = """([scroller, row, noMore]) => {
  const s = document.querySelector(scroller);
  if (!s) return false;
  const rows = Array.from(s.querySelectorAll(row)).map((r) => r.getBoundingClientRect());
  if (!rows.length) return true;
  const view = s.getBoundingClientRect();
  const top = Math.min(...rows.map((r) => r.top));
  const bottom = Math.max(...rows.map((r) => r.bottom));
  return top <= view.top + 1 && (bottom >= view.bottom - 1 || !!s.querySelector(noMore));
}"""

# The open conversation's messages, oldest first: fiber props of the panel's rows; own messages are
# the rows with the from-me class on themselves or an ancestor.
READ_MESSAGES = (
    FIBER_PROPS
    + """([panel, fromMe]) => {
  const root = document.querySelector(panel);
  if (!root) return [];
  return Array.from(root.children).map((n) => {
    const m = fiberProps(n, (p) => (p.message && p.message.serverId ? p.message : (p.serverId ? p : null)));
    if (!m) return null;
    return {
      m: {serverId: String(m.serverId), conversationId: String(m.conversationId), sender: String(m.sender ?? ''),
          content: m.content, createdAt: m.createdAt},
      fromMe: !!n.closest(fromMe),
    };
  }).filter(Boolean);
}"""
)

# The row now carrying the conversation, and the name it shows, read together: a new message lifts its
# conversation to the top of the list, and a new peer reloads the list, so a row index (or a name at an
# index) read a moment earlier may be another conversation's.
_ROW_OF = (
    _CONVERSATION_OF
    + """([row, name, conversationId, scroller]) => {
  const rows = Array.from(document.querySelectorAll(row));
  const index = rows.findIndex((r) => {
    const c = conversationOf(r);
    return !!c && String(c.id) === conversationId;
  });
  if (index < 0) return {index};
  const shown = rows[index].querySelector(name);
  const box = rows[index].getBoundingClientRect();
  const view = (rows[index].closest(scroller) || document.body).getBoundingClientRect();
  return {
    index, name: shown ? shown.textContent.trim() : '', conversation: shapeOf(conversationOf(rows[index])),
    visible: box.top >= view.top - 1 && box.bottom <= view.bottom + 1,
  };
}"""
)

# "ours" once the panel shows the conversation's messages (and `serverId`), "other" while it shows
# another conversation's (the click landed on a row that moved, or the last open panel is still up).
_OPENED = (
    FIBER_PROPS
    + """([panel, conversationId, serverId]) => {
  const root = document.querySelector(panel);
  if (!root) return false;
  const messages = Array.from(root.children)
    .map((n) => fiberProps(n, (p) => (p.message && p.message.serverId ? p.message : (p.serverId ? p : null))))
    .filter(Boolean);
  if (messages.some((m) => String(m.conversationId) !== conversationId)) return 'other';
  return messages.some((m) => !serverId || String(m.serverId) === serverId) ? 'ours' : false;
}"""
)

_OLDER_LOADED = """([panel, noMore, count]) => {
  const root = document.querySelector(panel);
  return !root || root.children.length > count || !!root.querySelector(noMore);
}"""


class Peers:
    """The peers user_detail named, by uid and by sec_uid."""

    def __init__(self) -> None:
        self.by_id: dict[str, Person] = {}

    def add(self, data: dict[str, Any]) -> None:
        for entry in data.get("user_list") or []:
            peer = parse.im_peer(entry)
            self.by_id[peer.user_id] = peer
            if peer.sec_uid:
                self.by_id[peer.sec_uid] = peer

    def add_all(self, capture: Capture) -> None:
        for answer in capture.of(x.IM_USERS):
            self.add(answers.ok(answer))

    def of(self, conversation: dict[str, Any], me: Person) -> Person | None:
        """The participant of a conversation who is not the account."""
        for p in conversation["participants"]:
            if (p["uid"] and p["uid"] == me.user_id) or (p["sec_uid"] and p["sec_uid"] == me.sec_uid):
                continue
            peer = self.by_id.get(p["sec_uid"] or "") or self.by_id.get(p["uid"] or "")
            if peer is not None:
                return peer
        return None

    async def resolve(self, conversation: dict[str, Any], me: Person, capture: Capture) -> Person:
        """The conversation's peer, from any user_detail answer so far: a conversation new to the page
        while it is open has its peer in a later one (the page asks again for the reloaded list)."""
        peer = self.of(conversation, me)
        if peer is None:
            await capture.settle()
            self.add_all(capture)
            peer = self.of(conversation, me)
        if peer is None:
            raise answers.missing(x.IM_USERS, f"the peer of conversation {conversation['id']}")
        return peer


async def open_chat(page: Page, run_site: site.Site, capture: Capture) -> tuple[Peers, list[dict[str, Any] | None]]:
    """The chat page, its peers (first user_detail answer) and the conversations of its rows."""
    await open_creator_page(page, run_site, site.CHAT)
    first = answers.ok((await capture.wait_for(x.IM_USERS))[0])
    if "user_list" not in first:
        raise answers.missing(x.IM_USERS, "user_list")
    peers = Peers()
    peers.add(first)
    # The list has rendered once a row shows (React renders it in one go). Not as many rows as
    # user_detail named peers: someone new may have written between the list's answer and
    # user_detail's, or a conversation gone, and the rows would never reach that count.
    await wait_for_count(page, x.CONVERSATION_ROW, min(len(first["user_list"]), 1))
    conversations: list[dict[str, Any] | None] = await page.evaluate(READ_CONVERSATIONS, x.CONVERSATION_ROW)
    return peers, conversations


async def scroll_grid(page: Page, index: int | None) -> bool:
    """Brings the rendered row `index` (the last when None, the list's top when -1) to the top of the
    grid and waits for the rows to render; False when the grid did not move."""
    moved: bool = await page.evaluate(_SCROLL_GRID, [x.CONVERSATION_SCROLLER, x.CONVERSATION_ROW, index])
    await page.wait_for_function(_RENDERED, arg=[x.CONVERSATION_SCROLLER, x.CONVERSATION_ROW, x.NO_MORE])
    return moved


async def at_list_end(page: Page) -> bool:
    return await page.locator(x.CONVERSATION_SCROLLER).locator(x.NO_MORE).count() > 0


async def list_conversations(page: Page) -> list[dict[str, Any]]:
    """Every conversation of the list, top to bottom: the grid walked from its top, window by window,
    until its end marker renders or a scroll brings no new row; then the top window once more, where a
    message lifts its conversation from below the walk, and where the rows are opened from."""
    await scroll_grid(page, -1)
    seen: dict[str, dict[str, Any]] = {}

    async def read() -> int:
        fresh = 0
        for c in await page.evaluate(READ_CONVERSATIONS, x.CONVERSATION_ROW):
            if c is None:
                raise answers.missing("a conversation row", "its conversation in the page data")
            if c["id"] not in seen:
                seen[c["id"]] = c
                fresh += 1
        return fresh

    for _ in range(MAX_LIST_STEPS):
        if not await read() or await at_list_end(page) or not await scroll_grid(page, None):
            if await scroll_grid(page, -1):
                await read()
            return list(seen.values())
    raise PlatformError(f"the conversation list did not end within {MAX_LIST_STEPS} scrolls ({len(seen)} rows read)")


async def crawl_chat(run: CrawlRun) -> None:
    if run.me is None:
        raise PlatformError("the account's own profile must be read before its messages")
    page = run.page
    # Attached for the whole step: every window scrolled to has its peers in its own user_detail
    # answer, and a conversation new to the page has its peer in a later one.
    with Capture(page, [x.IM_USERS]) as capture:
        peers, _ = await open_chat(page, run.site, capture)
        for c in await list_conversations(page):
            peer = await peers.resolve(c, run.me, capture)
            await run.observe(parse.conversation(run.account_id, c["id"], c["shortId"], peer, run.now_ms()))
            last = c["last"]
            if last and run.cursor.get(LAST_MESSAGE + c["id"]) != last:
                await _read_conversation(run, c["id"], peer, last)
                run.cursor[LAST_MESSAGE + c["id"]] = last


async def find_row(page: Page, conversation_id: str) -> dict[str, Any] | None:
    """The row carrying the conversation, in view: `{index, name, conversation}`; the grid scrolled on
    from where it is to the end, then from the top. None once the whole list was walked without it."""
    wrapped = False
    for _ in range(MAX_LIST_STEPS):
        row = await page.evaluate(
            _ROW_OF, [x.CONVERSATION_ROW, x.CONVERSATION_NAME, conversation_id, x.CONVERSATION_SCROLLER]
        )
        if row["index"] >= 0:
            if row["visible"]:
                return row
            await scroll_grid(page, row["index"])
        elif await at_list_end(page) or not await scroll_grid(page, None):
            if wrapped or not await scroll_grid(page, -1):
                return None
            wrapped = True
    raise PlatformError(f"no row for conversation {conversation_id} within {MAX_LIST_STEPS} scrolls of the list")


async def open_conversation(page: Page, conversation_id: str, message_id: str = "") -> str:
    """Clicks the row carrying the conversation (scrolled to); returns, once the panel shows its
    messages (and `message_id`), the name that row showed."""
    for _ in range(OPEN_ATTEMPTS):
        row = await find_row(page, conversation_id)
        if row is None:
            raise answers.missing("the conversation list", f"a row for conversation {conversation_id}")
        await page.locator(x.CONVERSATION_ROW).nth(row["index"]).click()
        opened = await page.wait_for_function(_OPENED, arg=[x.MESSAGE_PANEL, conversation_id, message_id])
        if await opened.json_value() == "ours":
            return str(row["name"])
    raise PlatformError(f"conversation {conversation_id} did not open in {OPEN_ATTEMPTS} clicks on its row")


async def read_messages(page: Page) -> list[dict[str, Any]]:
    return await page.evaluate(READ_MESSAGES, [x.MESSAGE_PANEL, x.FROM_ME])


async def _read_conversation(run: CrawlRun, conversation_id: str, peer: Person, last_id: str) -> None:
    assert run.me is not None
    page = run.page
    await open_conversation(page, conversation_id, last_id)
    rows = await read_messages(page)
    panel = page.locator(x.MESSAGE_PANEL)
    for _ in range(MAX_HISTORY_PAGES):
        if run.known.refs("message", rows[0]["m"]["serverId"]) is not None or await panel.locator(x.NO_MORE).count():
            break
        count = await panel.evaluate("e => e.children.length")
        await panel.hover()
        await page.mouse.wheel(0, -20_000)
        await page.wait_for_function(_OLDER_LOADED, arg=[x.MESSAGE_PANEL, x.NO_MORE, count])
        rows = await read_messages(page)
    now = run.now_ms()
    for row in rows:
        if row["m"]["conversationId"] != conversation_id:
            continue
        message = parse.message(run.account_id, row["m"], row["fromMe"], run.me, peer, now)
        if message is None:
            raise answers.missing("a message's page data", "serverId or createdAt")
        await run.observe(message)
