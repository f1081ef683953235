"""Applying a batch of stream messages to the read models in one LMDB write transaction."""

from __future__ import annotations

import gc

import lmdb

from hiscrm.facts.base import Fact
from hiscrm.facts.catalogue import BY_TYPE_NAME
from hiscrm.facts.codec import Recorded, headers_dict
from hiscrm.projector.model import BatchTx, Handler, ReadModel
from hiscrm.projector.storage import DeadLetter, ModelEnv
from hiscrm.store.feed import Raw
from hiscrm.store.reader import Undecoded, decode_raw


def dispatch_table(models: list[ReadModel]) -> dict[type[Fact], tuple[Handler, ...]]:
    """Fact class -> every model's handler for it, in model order: one dict lookup per fact."""
    return {
        cls: tuple(model.HANDLERS[name] for model in models if name in model.HANDLERS)
        for name, cls in BY_TYPE_NAME.items()
    }


class Applier:
    """Turns stream messages into model changes, exactly once each.

    A message at or below the checkpoint is skipped, so a redelivery after a reconnect or a
    restart is never applied twice; the checkpoint moves in the same transaction as the changes.
    """

    def __init__(self, env: ModelEnv) -> None:
        self.env = env
        self.handlers = dispatch_table(env.models)
        self._versions_written = env.stored_versions() is not None
        # Set by whoever knows the stream: written with the next batch if the models record none yet.
        self.built_from: str | None = None

    def apply_batch(self, raws: list[Raw]) -> int:
        """Apply `raws` (in stream order); returns the checkpoint afterwards. Blocking: run in a thread."""
        # Every fact makes dozens of short-lived objects that reference counting frees at once, yet
        # they keep triggering the cyclic collector, which then walks every object of the process
        # (a replay's buffered deliveries among them). A batch makes no cycles worth collecting.
        collecting = gc.isenabled()
        gc.disable()
        try:
            return self._apply(raws, isolate=False)
        except _ModelFailure:
            # Some model raised on some fact: redo the batch fact by fact, so only that fact is set aside.
            return self._apply(raws, isolate=True)
        finally:
            if collecting:
                gc.enable()

    def _apply(self, raws: list[Raw], *, isolate: bool) -> int:
        env, handlers = self.env, self.handlers
        with env.write() as txn:
            tx = BatchTx(txn, env.dbs)
            checkpoint = env.checkpoint(txn)
            for raw in raws:
                if raw.seq <= checkpoint:
                    continue
                item = decode_raw(raw)
                if isinstance(item, Undecoded):
                    env.add_dead_letter(txn, _letter(raw, item.reason))
                elif isolate:
                    self._apply_isolated(txn, raw, item)
                else:
                    try:
                        for handle in handlers[item.fact.__class__]:
                            handle(tx, item)
                    except Exception as exc:
                        raise _ModelFailure from exc
                checkpoint = raw.seq
            tx.flush()
            env.set_checkpoint(txn, checkpoint)
            if not self._versions_written:
                env.set_versions(txn)
                self._versions_written = True
            if self.built_from is not None and checkpoint and env.built_from(txn) is None:
                env.set_built_from(txn, self.built_from)
        return checkpoint

    def _apply_isolated(self, txn: lmdb.Transaction, raw: Raw, rec: Recorded) -> None:
        env = self.env
        nested = env.env.begin(write=True, parent=txn)
        try:
            tx = env.tx(nested)
            for handle in self.handlers[rec.fact.__class__]:
                handle(tx, rec)
        except Exception as exc:
            nested.abort()
            env.add_dead_letter(txn, _letter(raw, f"{rec.type_name}: read model failed: {exc!r}"))
        else:
            nested.commit()


class _ModelFailure(Exception):
    pass


def _letter(raw: Raw, reason: str) -> DeadLetter:
    return DeadLetter.of(raw.seq, raw.time_ms, raw.subject, reason, headers_dict(raw.headers), raw.payload)
