"""Whether a JSON body nests too deeply, found before decoding it.

msgspec decodes nesting by recursion and raises RecursionError on a body nested about a thousand
deep, even inside a field the target type ignores; 2 KB are enough. So the API looks at the raw
bytes first and refuses a body deeper than MAX_DEPTH. This runs on every write, so the per-byte work
is done by bytes methods in C, never by a Python loop over the body: the usual body has too few
brackets to be deep at all; one that has more is reduced to its brackets outside strings, and then
walked a run of equal brackets at a time, after stripping innermost pairs while the runs are many.
"""

from __future__ import annotations

import re

MAX_DEPTH = 64

_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
# Arrays and objects nest alike; one kind of bracket makes every innermost pair the same two bytes.
_ONE_KIND = bytes.maketrans(b"[{]}", b"(())")
_RUN = re.compile(rb"\(+|\)+")
# A pass of bytes.replace costs a few scans of the brackets, walking costs a Python step per run:
# walk once there are fewer runs than a 16th of the brackets.
_BRACKETS_PER_WALKED_RUN = 16
_OPEN = ord("(")


def deeper_than(payload: bytes, limit: int = MAX_DEPTH) -> bool:
    """Whether `payload` nests arrays and objects more than `limit` deep (`[]` is 1, a scalar 0).

    Exact for valid JSON. Invalid JSON is True when its nesting and the brackets it leaves open
    could together exceed `limit`, so msgspec never meets such nesting; any other invalid body is
    left for msgspec to name its syntax error.
    """
    if payload.count(b"[") + payload.count(b"{") <= limit:
        return False
    brackets = _outside_strings(payload).translate(_ONE_KIND, _NOT_BRACKETS)
    # A pass removes every innermost pair: the depth drops by at most one, exactly one when balanced.
    passes = 0
    while True:
        pairs = brackets.count(b"()")
        if not pairs or (pairs + brackets.count(b")(")) * _BRACKETS_PER_WALKED_RUN <= len(brackets):
            break
        if passes == limit:
            return True  # a pair is left that encloses `limit` levels
        brackets = brackets.replace(b"()", b"")
        passes += 1
    depth = passes
    for run in _RUN.finditer(brackets):
        if brackets[run.start()] == _OPEN:
            depth += run.end() - run.start()
            if depth > limit:
                return True
        else:
            depth -= run.end() - run.start()
    return False


def _outside_strings(payload: bytes) -> bytes:
    """The bytes of `payload` outside its strings. Once the escaped backslashes and then the escaped
    quotes are gone (both pair from the left, as a decoder reads them), every quote left opens or
    closes a string. An unterminated string's bytes are dropped too: a decoder does not nest in one."""
    unescaped = payload.replace(b"\\\\", b"").replace(b'\\"', b"")
    return b"".join(unescaped.split(b'"')[::2])
