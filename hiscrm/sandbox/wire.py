"""Just enough of the protobuf wire format to serve DM history as binary, the way Douyin's IM servers do.

The point is that crawlers cannot read messages as JSON and must read the rendered page; the
page's script (web/common.js) decodes these fields.
"""

from __future__ import annotations

VARINT = 0
LENGTH_DELIMITED = 2


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def varint_field(number: int, value: int) -> bytes:
    return _varint(number << 3 | VARINT) + _varint(value)


def bytes_field(number: int, value: bytes | str) -> bytes:
    data = value.encode() if isinstance(value, str) else value
    return _varint(number << 3 | LENGTH_DELIMITED) + _varint(len(data)) + data
