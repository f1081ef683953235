"""Calling the IM API in tests: its envelope, and facts as a crawler would record them."""

from __future__ import annotations

from typing import Any

import httpx

from hiscrm.facts import catalogue as c
from tests.api.api_client import Api

NOW = 1_760_000_000_000


async def im(api: Api, method: str, path: str, status: int = 200, *, token: str = "im", **kwargs: Any) -> Any:
    """Call as the im token, check status and the success envelope; the whole body (cursor may sit beside data)."""
    r = await api.call(method, path, token=token, **kwargs)
    assert r.status_code == status, r.text
    body = r.json()
    assert body["status_code"] == 0, body
    return body


async def im_fails(api: Api, method: str, path: str, status: int, *, token: str = "im", **kwargs: Any) -> str:
    r = await api.call(method, path, token=token, **kwargs)
    assert r.status_code == status, r.text
    return error_message(r, status)


def error_message(r: httpx.Response, status: int) -> str:
    body = r.json()
    assert set(body) == {"data", "status_code", "status_msg"}, body
    assert body["data"] is None and body["status_code"] == status and body["status_msg"], body
    return body["status_msg"]


def person(uid: str, name: str | None = None) -> c.Person:
    return c.Person(user_id=uid, name=name or f"name-{uid}", avatar=f"https://img.test/{uid}.png", unique_id=f"u{uid}")


def comment(account: str, comment_id: str, *, t: int, parent: str | None = None, **fields: Any) -> c.CommentObserved:
    return c.CommentObserved(
        account_id=account,
        comment_id=comment_id,
        content_id=fields.pop("content_id", "v1"),
        text=fields.pop("text", f"text of {comment_id}"),
        author=fields.pop("author", person(f"a-{comment_id}")),
        create_time_ms=NOW + t,
        parent_comment_id=parent,
        content_title=fields.pop("content_title", "title from the comment"),
        **fields,
    )


def message(
    account: str, message_id: str, *, t: int, conversation: str = "0:1:11:22", inbound: bool = True, **fields: Any
) -> c.MessageObserved:
    peer, me = person("peer1", "Peer One"), person("me", "Shop")
    return c.MessageObserved(
        account_id=account,
        message_id=message_id,
        conversation_id=conversation,
        sender=peer if inbound else me,
        receiver=me if inbound else peer,
        direction="inbound" if inbound else "outbound",
        content=fields.pop("content", f"content of {message_id}"),
        create_time_ms=NOW + t,
        **fields,
    )
