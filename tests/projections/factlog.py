"""A stand-in for the event stream: facts get sequences and times and go through the real Applier into real LMDB."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hiscrm.facts.base import Fact
from hiscrm.facts.codec import encode
from hiscrm.projector.applier import Applier
from hiscrm.projector.model import Tx
from hiscrm.projector.storage import ModelEnv
from hiscrm.store.feed import Raw
from projections import MODELS

T0 = 1_763_000_000_000


def to_raw(fact: Fact, seq: int, time_ms: int) -> Raw:
    out = encode(fact, msg_id=f"msg-{seq}")
    return Raw(seq, time_ms, 0, out.subject, out.headers, out.payload)


class FactLog:
    def __init__(self, path: Path) -> None:
        self.env = ModelEnv(path, MODELS)
        self.applier = Applier(self.env)
        self.seq = 0
        self.now = T0

    def append(self, *facts: Fact, step_ms: int = 1000) -> int:
        """Apply `facts` in one batch, each `step_ms` after the previous; the last one's seq."""
        raws = []
        for fact in facts:
            self.seq += 1
            self.now += step_ms
            raws.append(to_raw(fact, self.seq, self.now))
        self.applier.apply_batch(raws)
        return self.seq

    @contextmanager
    def tx(self) -> Iterator[Tx]:
        with self.env.read() as txn:
            yield self.env.tx(txn)

    def get(self, table: str, k: bytes, type_: Any = Any) -> Any:
        with self.tx() as tx:
            return tx.get(table, k, type_)

    def values(self, table: str, prefix: bytes = b"", type_: Any = Any) -> list[Any]:
        with self.tx() as tx:
            return [v for _, v in tx.scan(table, prefix, type_)]

    def close(self) -> None:
        self.env.close()
