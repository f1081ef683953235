"""Direct messages: the JSON user_detail the creator chat page asks for, the IM history and send
endpoints, and the live push of new messages over a WebSocket.

The conversation list and history come as protobuf, as from Douyin's IM servers, or, in the
`dm_history: json` variant, as JSON. Neither wire format is public beyond "protobuf, envelope with
a status code": the field numbers below are the sandbox's own; the page's script (web/common.js)
decodes both and keeps the messages in its page data, which is what crawlers read.

Binary messages (field numbers):
  Message          1 server_id  2 conversation_id  3 sender_uid  4 content (JSON text)  5 created_ms
                   6 sec_sender  7 conversation_short_id
  Conversation     1 conversation_id  2 short_id  3 peer_uid  4 last_message (Message)  5 updated_ms
  ConversationList 1 conversations (repeated)
  MessageList      1 messages (repeated, oldest first)  2 has_more  3 next_cursor (created_ms)
  SendResult       1 status_code  2 status_msg  3 message

Push frames (text, JSON, like the frontier socket's `text/json` payloads):
  {"payload_type": "json", "payload": {"cmd": 500, "new_message_notify": {"conversation_id",
   "conversation_short_id", "message": <message as JSON>}}}
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from hiscrm.sandbox import shapes
from hiscrm.sandbox.auth import Caller, api, caller, csrf_ok, form_or_json, int_param, json, str_param
from hiscrm.sandbox.model import Conversation, Message, NotFound, Refusal
from hiscrm.sandbox.state import World, time_page
from hiscrm.sandbox.wire import bytes_field, varint_field

PROTOBUF = "application/x-protobuf"
TEXT_MESSAGE = 7  # message_type of a text DM
TEXT_AWE_TYPE = 700
NEW_MESSAGE_CMD = 500
CLOSE_LOGGED_OUT = 4001


def content_json(text: str) -> str:
    """A message's content as the IM SDK carries it: a JSON string with the text inside."""
    return msgspec.json.encode({"text": text, "aweType": TEXT_AWE_TYPE}).decode()


def _sec_uid(world: World, uid: str) -> str:
    user = world.users.get(uid)
    return user.sec_uid if user else ""


def message_json(world: World, m: Message) -> dict[str, Any]:
    conv = world.conversations[m.conversation_id]
    return {
        "server_message_id": m.msg_id,
        "conversation_id": m.conversation_id,
        "conversation_short_id": conv.short_id,
        "sender": m.sender_uid,
        "sec_sender": _sec_uid(world, m.sender_uid),
        "message_type": TEXT_MESSAGE,
        "content": content_json(m.content),
        "create_time": m.created_ms,
    }


def _message(world: World, m: Message) -> bytes:
    return (
        bytes_field(1, m.msg_id)
        + bytes_field(2, m.conversation_id)
        + bytes_field(3, m.sender_uid)
        + bytes_field(4, content_json(m.content))
        + varint_field(5, m.created_ms)
        + bytes_field(6, _sec_uid(world, m.sender_uid))
        + bytes_field(7, world.conversations[m.conversation_id].short_id)
    )


def _conversation(world: World, conv: Conversation, uid: str) -> bytes:
    last = conv.messages[-1]
    return (
        bytes_field(1, conv.conversation_id)
        + bytes_field(2, conv.short_id)
        + bytes_field(3, conv.peer_of(uid))
        + bytes_field(4, _message(world, last))
        + varint_field(5, last.created_ms)
    )


def _binary(data: bytes) -> Response:
    return Response(data, media_type=PROTOBUF)


def _as_json(who: Caller) -> bool:
    return who.world.variants.dm_history == "json"


def _member_conversation(who: Caller, conversation_id: str) -> Conversation:
    conv = who.world.conversations.get(conversation_id)
    if conv is None or who.account.uid not in conv.members:
        raise NotFound(f"no conversation {conversation_id!r}")
    return conv


@api
async def user_detail(request: Request, who: Caller) -> Response:
    """The peers of the account's conversations, newest conversation first; no conversation ids.
    `user_ids` (comma-separated uids, the sandbox's own parameter) keeps those only: the page asks
    for the peers of the rows it renders, as the real one does."""
    uid = who.account.uid
    asked = request.query_params.get("user_ids")
    wanted = None if asked is None else set(filter(None, asked.split(",")))
    users = []
    for conv in who.world.conversations_newest_first(uid):
        peer = who.world.users[conv.peer_of(uid)]
        if wanted is None or peer.uid in wanted:
            users.append({"user_id": peer.uid, "user": shapes.im_user(peer, who.base)})
    return json({"status_code": 0, "status_msg": "", "user_list": users})


@api
async def conversations(request: Request, who: Caller) -> Response:
    uid, world = who.account.uid, who.world
    convs = world.conversations_newest_first(uid)
    if _as_json(who):
        listed = [
            {
                "conversation_id": c.conversation_id,
                "conversation_short_id": c.short_id,
                "peer": c.peer_of(uid),
                "last_message": message_json(world, c.messages[-1]),
            }
            for c in convs
        ]
        return json({"status_code": 0, "status_msg": "", "conversations": listed})
    return _binary(b"".join(bytes_field(1, _conversation(world, c, uid)) for c in convs))


@api
async def history(request: Request, who: Caller) -> Response:
    conv = _member_conversation(who, str_param(request, "conversation_id"))
    cursor = int_param(request, "cursor", 0)
    count = int_param(request, "count", 50, 1, 100)
    page, has_more = time_page(conv.messages, lambda m: m.created_ms, count, 0, cursor)
    page.reverse()
    next_cursor = page[0].created_ms if page else cursor
    if _as_json(who):
        messages = [message_json(who.world, m) for m in page]
        return json(
            {"status_code": 0, "status_msg": "", "messages": messages, "has_more": has_more, "cursor": next_cursor}
        )
    return _binary(
        b"".join(bytes_field(1, _message(who.world, m)) for m in page)
        + varint_field(2, int(has_more))
        + varint_field(3, next_cursor)
    )


@api
async def send(request: Request, who: Caller) -> Response:
    if not csrf_ok(request, who):
        return json({"status_code": 4, "status_msg": "csrf token 校验失败"}, 403)
    body = await form_or_json(request)
    conv = _member_conversation(who, str(body.get("conversation_id") or ""))
    try:
        message = who.world.send_dm(who.account.uid, conv.conversation_id, str(body.get("content") or ""))
    except Refusal as refusal:
        if _as_json(who):
            return json({"status_code": refusal.code, "status_msg": refusal.message})
        return _binary(varint_field(1, refusal.code) + bytes_field(2, refusal.message))
    if _as_json(who):
        return json({"status_code": 0, "status_msg": "", "message": message_json(who.world, message)})
    return _binary(varint_field(1, 0) + bytes_field(2, "") + bytes_field(3, _message(who.world, message)))


async def push(socket: WebSocket) -> None:
    """Every new message of the account's conversations, in or out, the moment it exists."""
    who = caller(socket)  # type: ignore[arg-type]  # a WebSocket carries cookies like a request
    if who is None or who.account.risk_control:
        await socket.close(CLOSE_LOGGED_OUT)
        return
    await socket.accept()
    world, uid = who.world, who.account.uid
    queue: asyncio.Queue[Message] = asyncio.Queue()

    def listener(message: Message) -> None:
        if uid in world.conversations[message.conversation_id].members:
            queue.put_nowait(message)

    async def forward() -> None:
        while True:
            m = await queue.get()
            notify = {
                "conversation_id": m.conversation_id,
                "conversation_short_id": world.conversations[m.conversation_id].short_id,
                "message": message_json(world, m),
            }
            frame = {"payload_type": "json", "payload": {"cmd": NEW_MESSAGE_CMD, "new_message_notify": notify}}
            await socket.send_text(msgspec.json.encode(frame).decode())

    async def drain() -> None:
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                await socket.receive_text()  # heartbeats from the page; nothing to answer

    world.message_listeners.add(listener)
    tasks = [asyncio.create_task(forward()), asyncio.create_task(drain())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        world.message_listeners.discard(listener)
        for task in tasks:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
            await asyncio.gather(*tasks, return_exceptions=True)


routes = [
    Route("/aweme/v1/creator/im/user_detail/", user_detail),
    Route("/v2/message/get_by_user_init", conversations, methods=["POST"]),
    Route("/v1/message/get_by_conversation", history),
    Route("/v1/message/send", send, methods=["POST"]),
    WebSocketRoute("/ws/v2", push),
]
