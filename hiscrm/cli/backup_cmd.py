"""`hiscrm backup DIR` / `hiscrm restore DIR`: the streams through the JetStream snapshot API, the read
models as a compacting LMDB copy of the live generation.

The streams are the truth and the read models only save a rebuild: a backup whose models are missing
or older than its streams is still whole, since the projector resumes from the models' checkpoint.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import shutil
from pathlib import Path

import lmdb

from hiscrm.cli.runtime import SubParsers, command, nats_client, settings
from hiscrm.errors import HiscrmError
from hiscrm.projector.storage import Generations
from hiscrm.store import backup, streams

READ_MODELS = "read-models"
STREAMS = "streams"


def register(sub: SubParsers) -> None:
    p = command(sub, "backup", "snapshot every stream and bucket, and copy the live read models, into DIR")
    p.add_argument("dir", type=Path)
    p.add_argument("--no-read-models", action="store_true", help="only the streams")
    p.set_defaults(func=run_backup)
    p = command(sub, "restore", "recreate missing streams and buckets from a backup in DIR, and its read models")
    p.add_argument("dir", type=Path)
    p.add_argument("--replicas", type=int, default=None, help="replicas of the restored streams (3 on a cluster)")
    p.add_argument("--no-read-models", action="store_true", help="only the streams (then rebuild the models)")
    p.set_defaults(func=run_restore)


def _copy_live_models(root: Path, dest: Path) -> bool:
    live = Generations(root).current()
    if live is None or not live.exists():
        return False
    dest.mkdir(parents=True)
    # A read transaction is a consistent snapshot even while the projector writes; compaction drops free pages.
    env = lmdb.open(str(live), readonly=True, lock=True, max_dbs=256)
    try:
        env.copy(str(dest), compact=True)
    finally:
        env.close()
    return True


async def run_backup(args: argparse.Namespace) -> int:
    s = settings(args)
    if args.dir.exists() and any(args.dir.iterdir()):
        raise HiscrmError(f"{args.dir} is not empty; a backup goes into a new directory")
    states = {}
    (args.dir / STREAMS).mkdir(parents=True, exist_ok=True)
    async with nats_client(args, "hiscrm-backup") as nc:
        for sf in streams.load(s.streams_dir):
            states[sf.name] = await backup.snapshot(nc, sf.name, args.dir / STREAMS)
            print(f"{sf.name:<22} {states[sf.name]['messages']:>10} msgs  seq {states[sf.name]['last_seq']}")
    models = not args.no_read_models and await asyncio.to_thread(
        _copy_live_models, s.read_models_dir, args.dir / READ_MODELS
    )
    print(f"read models            {'copied' if models else 'none'}")
    manifest = {"taken_at": dt.datetime.now(dt.UTC).isoformat(), "streams": states, "read_models": models}
    (args.dir / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return 0


def _install_models(backup_dir: Path, root: Path) -> Path:
    gens = Generations(root)
    target = gens.next_path()
    shutil.copytree(backup_dir, target)
    gens.swap(target)
    return target


async def run_restore(args: argparse.Namespace) -> int:
    s = settings(args)
    snapshots = sorted((args.dir / STREAMS).glob("*.json"))
    if not snapshots:
        raise HiscrmError(f"no stream snapshots in {args.dir / STREAMS}")
    async with nats_client(args, "hiscrm-restore") as nc:
        for meta in snapshots:
            state = await backup.restore(nc, meta.stem, meta.parent, replicas=args.replicas)
            print(f"{meta.stem:<22} {state['messages']:>10} msgs  seq {state['last_seq']}  restored")
    models = args.dir / READ_MODELS
    if not args.no_read_models and models.exists():
        target = await asyncio.to_thread(_install_models, models, s.read_models_dir)
        print(f"read models            restored as {target}")
    return 0
