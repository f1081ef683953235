"""Shared by the sandbox tests (and the adapter and worker tests that drive a served sandbox): the demo
world's accounts, a world served on a free port, and a protobuf reader for the IM answers."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator

import httpx

from hiscrm.sandbox.app import create_app
from hiscrm.sandbox.server import bind, serve
from hiscrm.sandbox.state import World

KITCHEN = "2381749560317724160"  # 林小满的厨房 in the demo world
RIDER = "1093857263140582913"  # 阿杰骑行日记
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


@contextlib.asynccontextmanager
async def serving(world: World) -> AsyncIterator[str]:
    """`world`'s sandbox on a free loopback port: yields its base URL once it answers, stops it after."""
    sock = bind("127.0.0.1", 0)
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    stop = asyncio.Event()
    task = asyncio.create_task(serve(create_app(world, traffic=False), sock, stop))
    try:
        async with httpx.AsyncClient(base_url=base) as http:
            for _ in range(100):
                with contextlib.suppress(httpx.TransportError):
                    await http.get("/__sandbox/settings")
                    break
                await asyncio.sleep(0.05)
        yield base
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


def pb_fields(data: bytes) -> dict[int, list[int | bytes]]:
    """Decodes one level of protobuf wire format (varint and length-delimited fields)."""
    fields: dict[int, list[int | bytes]] = {}
    pos = 0

    def varint() -> int:
        nonlocal pos
        value = shift = 0
        while True:
            byte = data[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return value

    while pos < len(data):
        key = varint()
        if key & 7 == 0:
            value: int | bytes = varint()
        elif key & 7 == 2:
            length = varint()
            value = data[pos : pos + length]
            pos += length
        else:
            raise AssertionError(f"unexpected wire type {key & 7}")
        fields.setdefault(key >> 3, []).append(value)
    return fields


def pb_message(data: bytes) -> dict[str, object]:
    f = pb_fields(data)
    text = lambda n: f[n][0].decode() if n in f else ""  # noqa: E731
    return {
        "msg_id": text(1),
        "conversation_id": text(2),
        "sender_uid": text(3),
        "content": json.loads(text(4))["text"],  # the IM SDK's content: JSON with the text inside
        "created_ms": f.get(5, [0])[0],
    }
