"""Key parts the read models share.

Every list the IM API pages through is an index whose key ends in `when(time, seq)`, where `seq`
is the stream sequence of the fact that first created the item and `time` is fixed at that moment.
Both parts never change, so an item keeps its place for good and a cursor (its seq) stays valid.
"""

from __future__ import annotations

import struct
from typing import Any

from hiscrm.projector.model import Tx, key

_TWO = struct.Struct(">QQ")
_TOP = 0xFFFFFFFFFFFFFFFF


def when(time_ms: int, seq: int) -> bytes:
    """Newest first by time, then newest first by sequence, so equal times still order the same way every time.

    The same bytes as newest_first(time_ms) + newest_first(seq), packed at once: this is on every observation's path.
    """
    # Platform times can be missing or bogus (0, negative); clamping keeps the key packable.
    return _TWO.pack(_TOP - max(time_ms, 0), _TOP - seq)


def owners(tx: Tx, table: str, item_id: str) -> list[str]:
    """The accounts holding an item with this platform id, from a `key(item_id, account_id)` table.

    Usually one; a DM conversation between two managed accounts is seen by both.
    """
    prefix = key(item_id, b"")
    return [k[len(prefix) :].decode() for k, _ in tx.scan(table, prefix)]


def mark_read(tx: Tx, table: str, k: bytes, type_: Any, at: int) -> None:
    """An item row read by the team: read and no longer new, as of `at`; nothing if unknown or read already."""
    row = tx.get(table, k, type_)
    if row is None or row.is_read:
        return
    row.is_read, row.is_new, row.read_at, row.updated_at = True, False, at, at
    tx.put(table, k, row)
