"""Direct messages: the JSON conversation list the creator page asks for, and the binary IM endpoints.

Binary messages (field numbers), as web/common.js decodes them:
  Message          1 server_id  2 conversation_id  3 sender_uid  4 content  5 created_ms
  Conversation     1 conversation_id  2 short_id  3 peer_uid  4 last_message (Message)  5 updated_ms
  ConversationList 1 conversations (repeated)
  MessageList      1 messages (repeated, oldest first)  2 has_more  3 next_cursor (created_ms)
  SendResult       1 status_code  2 status_msg  3 message
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hiscrm.sandbox import shapes
from hiscrm.sandbox.auth import Caller, api, csrf_ok, form_or_json, int_param, json, str_param
from hiscrm.sandbox.model import Conversation, Message, NotFound, Refusal
from hiscrm.sandbox.state import time_page
from hiscrm.sandbox.wire import bytes_field, varint_field

PROTOBUF = "application/x-protobuf"


def _message(m: Message) -> bytes:
    return (
        bytes_field(1, m.msg_id)
        + bytes_field(2, m.conversation_id)
        + bytes_field(3, m.sender_uid)
        + bytes_field(4, m.content)
        + varint_field(5, m.created_ms)
    )


def _conversation(conv: Conversation, uid: str) -> bytes:
    last = conv.messages[-1]
    return (
        bytes_field(1, conv.conversation_id)
        + bytes_field(2, conv.short_id)
        + bytes_field(3, conv.peer_of(uid))
        + bytes_field(4, _message(last))
        + varint_field(5, last.created_ms)
    )


def _binary(data: bytes) -> Response:
    return Response(data, media_type=PROTOBUF)


def _member_conversation(who: Caller, conversation_id: str) -> Conversation:
    conv = who.world.conversations.get(conversation_id)
    if conv is None or who.account.uid not in conv.members:
        raise NotFound(f"no conversation {conversation_id!r}")
    return conv


@api
async def user_detail(request: Request, who: Caller) -> Response:
    uid = who.account.uid
    users = []
    for conv in who.world.conversations_newest_first(uid):
        peer = who.world.users[conv.peer_of(uid)]
        users.append(
            {
                "user_id": peer.uid,
                "conversation_id": conv.conversation_id,
                "conversation_short_id": conv.short_id,
                "user": shapes.user_brief(peer, who.base),
            }
        )
    return json({"status_code": 0, "status_msg": "", "user_list": users})


@api
async def conversations(request: Request, who: Caller) -> Response:
    uid = who.account.uid
    convs = who.world.conversations_newest_first(uid)
    return _binary(b"".join(bytes_field(1, _conversation(c, uid)) for c in convs))


@api
async def history(request: Request, who: Caller) -> Response:
    conv = _member_conversation(who, str_param(request, "conversation_id"))
    cursor = int_param(request, "cursor", 0)
    count = int_param(request, "count", 50, 1, 100)
    page, has_more = time_page(conv.messages, lambda m: m.created_ms, count, 0, cursor)
    page.reverse()
    return _binary(
        b"".join(bytes_field(1, _message(m)) for m in page)
        + varint_field(2, int(has_more))
        + varint_field(3, page[0].created_ms if page else cursor)
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
        return _binary(varint_field(1, refusal.code) + bytes_field(2, refusal.message))
    return _binary(varint_field(1, 0) + bytes_field(2, "") + bytes_field(3, _message(message)))


routes = [
    Route("/creator/im/user_detail/", user_detail),
    Route("/v1/message/get_by_user_init", conversations),
    Route("/v1/message/get_by_conversation", history),
    Route("/v1/message/send", send, methods=["POST"]),
]
