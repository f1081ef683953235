"""List items' IM JSON, made once per stored version of each item, so a page joins bytes that are ready.

Shaping a read-model row into its IM item (hiscrm/api/im/shapes.py, the types /openapi.json is built
from) and encoding it cost more per item than reading it. A list route loads its rows through here:
the kept entry holds the bytes LMDB stored for the row, the row decoded from them, and the item's
JSON per shape. A read compares the bytes LMDB returns with the kept ones, so any change to the row
— a new fact, an upcast, a rebuilt generation, another model version — is a miss, and the JSON is
always that of the snapshot the page reads. What else an item's JSON depends on (the title of a
comment's work) is passed as context and compared too. Entries are shared by every request of the
process: routes only read the rows they are given.

A route puts the JSON (msgspec.Raw) where its answer type declares the item's Struct: the declared
types still describe the answer in /openapi.json, and the bytes are exactly what encoding that
Struct gives. With `size=0` nothing is kept and every item is shaped as it is read: the slow way,
which the tests compare the kept pages with.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from hiscrm.api.bounded import Bounded
from hiscrm.projector.model import Tx, decoder

SIZE = 100_000

_encoder = msgspec.json.Encoder()


class Stored:
    """One row as LMDB holds it, decoded once, with its JSON per shape."""

    __slots__ = ("json", "raw", "row")

    def __init__(self, raw: bytes, row: Any) -> None:
        self.raw = raw
        self.row = row
        self.json: dict[Callable[..., Any], tuple[tuple[Any, ...], msgspec.Raw]] = {}


class ShapedItems:
    def __init__(self, size: int = SIZE) -> None:
        self._kept: Bounded[tuple[str, bytes], Stored] = Bounded(size)

    def load(self, tx: Tx, table: str, key: bytes, type_: Any) -> Stored | None:
        """The row under `key` in this snapshot, decoded only when its bytes changed since last read."""
        raw = tx.txn.get(key, None, tx.dbs[table])
        return None if raw is None else self.stored(table, key, raw, type_)

    def stored(self, table: str, key: bytes, raw: bytes, type_: Any) -> Stored:
        """The row stored as `raw` under `key` (read by a scan), decoded only when its bytes changed."""
        kept = self._kept.get((table, key))
        if kept is not None and kept.raw == raw:
            return kept
        stored = Stored(raw, decoder(type_).decode(raw))
        self._kept.put((table, key), stored)
        return stored

    def json(self, stored: Stored, shape: Callable[..., Any], *context: Any) -> msgspec.Raw:
        """`shape(row, *context)` as JSON, encoded once per row version and context."""
        found = stored.json.get(shape)
        if found is not None and found[0] == context:
            return found[1]
        made = msgspec.Raw(_encoder.encode(shape(stored.row, *context)))
        stored.json[shape] = (context, made)
        return made
