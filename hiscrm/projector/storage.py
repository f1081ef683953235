"""The LMDB files behind the read models: generations, tables, checkpoint, dead letters.

Read models live in a generation directory; `CURRENT` is a symlink to the live one. A rebuild
fills a new generation aside and swaps the link with one rename, so readers see either the old
models or the new ones, never a half-built mix. The checkpoint (the last stream sequence
applied), the model versions and the identity of the stream they came from are written in the
same transaction as the model changes.
"""

from __future__ import annotations

import base64
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lmdb
import msgspec

from hiscrm.errors import HiscrmError
from hiscrm.private import DIR_MODE, open_private, private_dir
from hiscrm.projector.model import ReadModel, Tx, be64, decode_value, encode_value, from_be64

META = "_meta"
DEAD = "_dead_letters"
CHECKPOINT = b"checkpoint"
VERSIONS = b"versions"
BUILT_FROM = b"built_from"  # the identity of the stream the models were built from (hiscrm/projector/origin.py)
CURRENT = "CURRENT"
MAP_SIZE = 1 << 40  # sparse: LMDB only uses what it writes


class DeadLetter(msgspec.Struct, frozen=True):
    seq: int
    time_ms: int
    subject: str
    reason: str
    headers: dict[str, str]
    payload_b64: str

    @classmethod
    def of(
        cls, seq: int, time_ms: int, subject: str, reason: str, headers: dict[str, str], payload: bytes
    ) -> DeadLetter:
        return cls(seq, time_ms, subject, reason, headers, base64.b64encode(payload).decode())


def model_versions(models: list[ReadModel]) -> dict[str, int]:
    return {m.NAME: m.VERSION for m in models}


class ModelEnv:
    """One generation of read models: an LMDB environment with a named database per table."""

    def __init__(self, path: Path, models: list[ReadModel], *, readonly: bool = False, durable: bool = True) -> None:
        """`durable=False` skips the flush to disk at each commit; whoever opens it so must call `sync()`
        before anything relies on the files (a rebuild does, before it swaps the generation in)."""
        self.path = path
        self.models = models
        self.readonly = readonly
        tables = [META, DEAD, *(t for m in models for t in m.TABLES)]
        if len(set(tables)) != len(tables):
            raise HiscrmError("two read models claim the same table")
        if not readonly:
            private_dir(path)
        try:
            self.env = lmdb.open(
                str(path),
                map_size=MAP_SIZE,
                max_dbs=len(tables) + 8,
                readonly=readonly,
                # A process crash keeps every committed batch; an OS crash may undo the last one,
                # which the checkpoint in the same transaction makes harmless.
                metasync=False,
                sync=durable,
                readahead=False,
                lock=True,
                max_readers=1024,
                # The models hold every DM: the files are 0600 (LMDB drops the x bits), the directory 0700.
                mode=DIR_MODE,
            )
        except lmdb.Error as exc:
            raise HiscrmError(f"cannot open read models at {path}: {exc}") from None
        self.dbs: dict[str, Any] = {}
        for name in tables:
            try:
                self.dbs[name] = self.env.open_db(name.encode(), create=not readonly)
            except lmdb.NotFoundError:
                pass

    def close(self) -> None:
        self.env.close()

    def sync(self) -> None:
        """Flush every committed transaction to disk (what a durable environment does at each commit)."""
        self.env.sync(True)

    def write(self) -> lmdb.Transaction:
        return self.env.begin(write=True)

    def read(self) -> lmdb.Transaction:
        return self.env.begin(buffers=False)

    def tx(self, txn: lmdb.Transaction) -> Tx:
        return Tx(txn, self.dbs)

    def checkpoint(self, txn: lmdb.Transaction | None = None) -> int:
        if META not in self.dbs:
            return 0
        if txn is None:
            with self.read() as own:
                return self.checkpoint(own)
        raw = txn.get(CHECKPOINT, db=self.dbs[META])
        return from_be64(raw) if raw else 0

    def set_checkpoint(self, txn: lmdb.Transaction, seq: int) -> None:
        txn.put(CHECKPOINT, be64(seq), db=self.dbs[META])

    def built_from(self, txn: lmdb.Transaction | None = None) -> str | None:
        if META not in self.dbs:
            return None
        if txn is None:
            with self.read() as own:
                return self.built_from(own)
        raw = txn.get(BUILT_FROM, db=self.dbs[META])
        return bytes(raw).decode() if raw else None

    def set_built_from(self, txn: lmdb.Transaction, identity: str) -> None:
        txn.put(BUILT_FROM, identity.encode(), db=self.dbs[META])

    def stored_versions(self) -> dict[str, int] | None:
        if META not in self.dbs:
            return None
        with self.read() as txn:
            raw = txn.get(VERSIONS, db=self.dbs[META])
        return decode_value(raw, dict[str, int]) if raw else None

    def set_versions(self, txn: lmdb.Transaction) -> None:
        txn.put(VERSIONS, encode_value(model_versions(self.models)), db=self.dbs[META])

    def add_dead_letter(self, txn: lmdb.Transaction, letter: DeadLetter) -> None:
        txn.put(be64(letter.seq), encode_value(letter), db=self.dbs[DEAD])

    def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        if DEAD not in self.dbs:
            return []
        out = []
        with self.read() as txn, txn.cursor(db=self.dbs[DEAD]) as cur:
            for _, value in cur:
                out.append(decode_value(value, DeadLetter))
                if len(out) >= limit:
                    break
        return out

    def dead_letter_count(self) -> int:
        if DEAD not in self.dbs:
            return 0
        with self.read() as txn:
            return txn.stat(self.dbs[DEAD])["entries"]

    def items(self) -> Iterator[tuple[str, bytes, bytes]]:
        """Every (table, key, value) in table then key order: what verify compares."""
        with self.read() as txn:
            for name in sorted(self.dbs):
                if name == META:
                    continue
                with txn.cursor(db=self.dbs[name]) as cur:
                    for k, v in cur:
                        yield name, bytes(k), bytes(v)


_shared: dict[Path, tuple[ModelEnv, int]] = {}


def shared_env(path: Path, models: list[ReadModel]) -> ModelEnv:
    """The process's one ModelEnv for `path`.

    LMDB forbids opening the same environment twice in one process (its locks are per process),
    and `hiscrm up` runs the projector and the API side by side, so both go through here.
    """
    key = path.resolve()
    found = _shared.get(key)
    if found is not None:
        _shared[key] = (found[0], found[1] + 1)
        return found[0]
    env = ModelEnv(key, models)
    _shared[key] = (env, 1)
    return env


def release_env(env: ModelEnv) -> None:
    key = env.path.resolve()
    found = _shared.get(key)
    if found is None or found[0] is not env:
        env.close()
        return
    if found[1] <= 1:
        del _shared[key]
        env.close()
    else:
        _shared[key] = (env, found[1] - 1)


class Generations:
    """The directory holding generations of read models and the CURRENT link."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def link(self) -> Path:
        return self.root / CURRENT

    def current(self) -> Path | None:
        try:
            return self.root / os.readlink(self.link)
        except FileNotFoundError:
            return None

    def next_path(self) -> Path:
        private_dir(self.root)
        numbers = [int(p.name[4:]) for p in self.root.glob("gen-*") if p.name[4:].isdigit()]
        return self.root / f"gen-{max(numbers, default=0) + 1:06d}"

    def swap(self, target: Path) -> None:
        """Point CURRENT at `target` with one atomic rename."""
        private_dir(self.root)
        tmp = self.root / f".{CURRENT}.tmp"
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        os.symlink(os.path.relpath(target, self.root), tmp)
        os.replace(tmp, self.link)

    def ensure_current(self) -> Path:
        current = self.current()
        if current is None or not current.exists():
            current = private_dir(self.next_path())
            self.swap(current)
        return current

    def prune(self, keep: int = 2) -> None:
        """Remove old generations except the live one and the newest `keep`."""
        live = self.current()
        gens = sorted(p for p in self.root.glob("gen-*") if p.is_dir())
        for old in gens[:-keep]:
            if live is not None and old.resolve() == live.resolve():
                continue
            for f in old.iterdir():
                f.unlink()
            old.rmdir()


class WriterLock:
    """Only one process may write a generation at a time."""

    def __init__(self, path: Path) -> None:
        self.path = path / "writer.lock"
        self.fd: int | None = None

    def acquire(self) -> None:
        fd = open_private(self.path, os.O_CREAT | os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise HiscrmError(f"another projector is writing {self.path.parent}") from None
        self.fd = fd

    def release(self) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None
