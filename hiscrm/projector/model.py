"""What a read model is, and the transaction it writes through.

A read model is a module in `projections/` with a name, a version, the tables it owns, the fact
types it handles and an `apply(tx, rec)` function. It must be a pure function of the facts: any
time it stores comes from the fact or its stream timestamp, never from the clock, so a rebuild
produces byte-for-byte the same tables as the incremental pass did.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from typing import Any, Protocol, TypeVar

import lmdb
import msgspec

from hiscrm.facts.codec import Recorded

T = TypeVar("T")

_encoder = msgspec.msgpack.Encoder()
_decoders: dict[Any, msgspec.msgpack.Decoder[Any]] = {}
_be64 = struct.Struct(">Q")
SEP = b"\x00"


def decoder(type_: Any) -> msgspec.msgpack.Decoder[Any]:
    found = _decoders.get(type_)
    if found is None:
        found = _decoders[type_] = msgspec.msgpack.Decoder(type_)
    return found


def encode_value(value: Any) -> bytes:
    return _encoder.encode(value)


def decode_value(raw: bytes, type_: Any = Any) -> Any:
    return decoder(type_).decode(raw)


def be64(n: int) -> bytes:
    """Big-endian so that LMDB's byte order is numeric order."""
    return _be64.pack(n)


def from_be64(raw: bytes) -> int:
    return _be64.unpack(raw)[0]


def newest_first(n: int) -> bytes:
    """A key part that sorts larger numbers first."""
    return _be64.pack(0xFFFFFFFFFFFFFFFF - n)


def key(*parts: str | bytes) -> bytes:
    return SEP.join(p if isinstance(p, bytes) else p.encode() for p in parts)


class Tx:
    """One LMDB transaction as a model sees it: typed values per named table."""

    __slots__ = ("dbs", "txn")

    def __init__(self, txn: lmdb.Transaction, dbs: dict[str, Any]) -> None:
        self.txn = txn
        self.dbs = dbs

    def get(self, table: str, k: bytes, type_: type[T] | Any = Any) -> T | None:
        raw = self.txn.get(k, db=self.dbs[table])
        return None if raw is None else decoder(type_).decode(raw)

    def put(self, table: str, k: bytes, value: Any) -> None:
        self.txn.put(k, _encoder.encode(value), db=self.dbs[table])

    def delete(self, table: str, k: bytes) -> bool:
        return self.txn.delete(k, db=self.dbs[table])

    def exists(self, table: str, k: bytes) -> bool:
        return self.txn.get(k, db=self.dbs[table]) is not None

    def scan(self, table: str, prefix: bytes = b"", type_: type[T] | Any = Any) -> Iterator[tuple[bytes, T]]:
        dec = decoder(type_)
        with self.txn.cursor(db=self.dbs[table]) as cur:
            if not cur.set_range(prefix):
                return
            for k, v in cur:
                if not k.startswith(prefix):
                    return
                yield k, dec.decode(v)

    def add(self, table: str, k: bytes, by: int) -> int:
        """Add `by` to an integer counter and return the new value; counters never go below zero."""
        current = self.get(table, k, int) or 0
        value = max(0, current + by)
        if value:
            self.put(table, k, value)
        else:
            self.delete(table, k)
        return value


class ReadModel(Protocol):
    NAME: str
    VERSION: int
    TABLES: tuple[str, ...]
    HANDLES: frozenset[str]

    def apply(self, tx: Tx, rec: Recorded) -> None: ...


Handler = Callable[[Tx, Recorded], None]
