"""What a read model is, and the transactions it reads and writes through.

A read model is a module in `projections/` with a name, a version, the tables it owns and
HANDLERS, a map from fact type name (`inbox.comment_observed`) to a `handler(tx, rec)` function.
It must be a pure function of the facts: any time it stores comes from the fact or its stream
timestamp, never from the clock, so a rebuild produces byte-for-byte the same tables as the
incremental pass did. A value read in a handler may be the very object a write of the same batch
left pending (see BatchTx): change it only to put it back, and never change a value after putting it.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol, TypeVar

import lmdb
import msgspec

from hiscrm.facts.codec import Recorded

T = TypeVar("T")

_encoder = msgspec.msgpack.Encoder()
_decoders: dict[Any, msgspec.msgpack.Decoder[Any]] = {}
_be64 = struct.Struct(">Q")
SEP = b"\x00"
_SEP_TEXT = SEP.decode()


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
    # On every fact's path, several times. Most keys are all text (one join, one encode); most of the
    # rest end in one byte part (a time, a sequence, b"" for a prefix), which is appended after the
    # text ones are joined; any other mix joins part by part.
    last = parts[-1]
    try:
        if last.__class__ is str:
            return _SEP_TEXT.join(parts).encode()  # type: ignore[arg-type]
        if len(parts) == 2:
            return parts[0].encode() + SEP + last  # type: ignore[union-attr, operator]
        if len(parts) > 2:
            return _SEP_TEXT.join(parts[:-1]).encode() + SEP + last  # type: ignore[arg-type, operator]
    except (TypeError, AttributeError):
        pass  # a byte part before the last one
    return SEP.join([p.encode() if p.__class__ is str else p for p in parts])  # type: ignore[union-attr]


class Tx:
    """One LMDB transaction as a model sees it: typed values per named table."""

    __slots__ = ("dbs", "txn")

    def __init__(self, txn: lmdb.Transaction, dbs: dict[str, Any]) -> None:
        self.txn = txn
        self.dbs = dbs

    def get(self, table: str, k: bytes, type_: type[T] | Any = Any) -> T | None:
        raw = self.txn.get(k, None, self.dbs[table])
        return None if raw is None else decoder(type_).decode(raw)

    def put(self, table: str, k: bytes, value: Any) -> None:
        self.txn.put(k, _encoder.encode(value), db=self.dbs[table])

    def delete(self, table: str, k: bytes) -> None:
        self.txn.delete(k, db=self.dbs[table])

    def exists(self, table: str, k: bytes) -> bool:
        return self.txn.get(k, None, self.dbs[table]) is not None

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


_ABSENT = object()
_DELETED = object()


class BatchTx(Tx):
    """The projector's write transaction: writes wait in memory and reach LMDB once, when the batch ends.

    Many facts of a batch touch the same few keys (the global unread total, this minute's activity
    counter, an account's counters, a busy conversation), so keeping the latest value per key turns
    thousands of LMDB writes into one each, and the flush encodes and writes them in key order.

    A read of a pending key returns the pending object itself rather than a decoded copy, which
    spares a decode per read and an encode per write of the keys written again and again. Models
    only change what they read in order to put it back, and never change what they have put, so
    they see exactly what direct writes would have given them. A scan flushes its table first and
    then reads LMDB itself.
    """

    __slots__ = ("pending",)

    def __init__(self, txn: lmdb.Transaction, dbs: dict[str, Any]) -> None:
        super().__init__(txn, dbs)
        self.pending: dict[str, dict[bytes, Any]] = {name: {} for name in dbs}

    def get(self, table: str, k: bytes, type_: type[T] | Any = Any) -> T | None:
        value = self.pending[table].get(k, _ABSENT)
        if value is _ABSENT:
            raw = self.txn.get(k, None, self.dbs[table])
            if raw is None:
                return None
            return (_decoders.get(type_) or decoder(type_)).decode(raw)  # type: ignore[no-any-return]
        return None if value is _DELETED else value  # type: ignore[no-any-return]

    def put(self, table: str, k: bytes, value: Any) -> None:
        self.pending[table][k] = value

    def delete(self, table: str, k: bytes) -> None:
        self.pending[table][k] = _DELETED

    def exists(self, table: str, k: bytes) -> bool:
        value = self.pending[table].get(k, _ABSENT)
        if value is _ABSENT:
            return self.txn.get(k, None, self.dbs[table]) is not None
        return value is not _DELETED

    def scan(self, table: str, prefix: bytes = b"", type_: type[T] | Any = Any) -> Iterator[tuple[bytes, T]]:
        self._flush_table(table)
        return super().scan(table, prefix, type_)

    def flush(self) -> None:
        """Write every pending change to the LMDB transaction."""
        for table in self.pending:
            self._flush_table(table)

    def _flush_table(self, table: str) -> None:
        pending = self.pending[table]
        if not pending:
            return
        db, txn = self.dbs[table], self.txn
        if _DELETED in pending.values():
            # Deletions are rare (reads, pruning): only then split them from the writes.
            for k in [k for k, value in pending.items() if value is _DELETED]:
                txn.delete(k, db=db)
                del pending[k]
        encode = _encoder.encode
        # Sorted keys make LMDB's inserts sequential; sorting the keys alone is faster than sorting pairs.
        puts = [(k, encode(pending[k])) for k in sorted(pending)]
        pending.clear()
        if puts:
            with txn.cursor(db=db) as cur:
                cur.putmulti(puts)


Handler = Callable[[Tx, Recorded], None]


class ReadModel(Protocol):
    NAME: str
    VERSION: int
    TABLES: tuple[str, ...]
    HANDLERS: Mapping[str, Handler]
