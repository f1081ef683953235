"""Worker measurements, run by hand (not a test): memory per account, and the time of one crawl pass.

    .venv/bin/python tests/worker/measure_worker.py memory --accounts 10
    .venv/bin/python tests/worker/measure_worker.py pass --works 20 --comments 500

Everything is real: an embedded nats-server, the sandbox site, one worker with one Chromium. Memory
is the proportional set size (PSS, so shared pages are not counted twice) of the worker's Python
process, Playwright's driver and every Chromium process, sampled every 0.2 s.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from pathlib import Path

import msgspec

from hiscrm.config import REPO_ROOT
from hiscrm.facts.catalogue import SnapshotSynced
from hiscrm.facts.messages import AccountConfig
from hiscrm.facts.subjects import aggregate_filter
from hiscrm.platforms import load
from hiscrm.platforms.base import PlatformOptions
from hiscrm.sandbox import seed
from hiscrm.sandbox.app import create_app
from hiscrm.sandbox.server import bind, serve
from hiscrm.sandbox.state import World
from hiscrm.secrets.keystore import KeyStore
from hiscrm.secrets.sealing import new_key
from hiscrm.store import reader, streams
from hiscrm.store.broker import EmbeddedBroker, free_port
from hiscrm.store.connection import HiscrmClient, connect
from hiscrm.store.event_store import EventStore
from hiscrm.worker.account_runner import Timing, WorkerDeps
from hiscrm.worker.browser import Chromium
from hiscrm.worker.footprint import memory_bytes
from hiscrm.worker.service import BrowserWorker


class Sampler:
    """Peak PSS of this process and all its descendants (driver, Chromium), in MB."""

    def __init__(self) -> None:
        self.peak_mb = 0.0
        self._task: asyncio.Task[None] | None = None

    def now_mb(self) -> float:
        return (memory_bytes() or 0) / 2**20

    async def _run(self) -> None:
        while True:
            self.peak_mb = max(self.peak_mb, await asyncio.to_thread(self.now_mb))
            await asyncio.sleep(0.2)

    def __enter__(self) -> Sampler:
        self._task = asyncio.create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


async def _synced(nc: HiscrmClient, account_id: str) -> list[SnapshotSynced]:
    found = []
    async for item in reader.read(nc, subject=aggregate_filter("inbox", account_id)):
        if isinstance(getattr(item, "fact", None), SnapshotSynced):
            found.append(item.fact)  # type: ignore[union-attr]
    return found


async def _wait_passes(nc: HiscrmClient, account_ids: list[str], passes: int) -> dict[str, list[SnapshotSynced]]:
    while True:
        done = {a: await _synced(nc, a) for a in account_ids}
        if all(len(s) >= passes for s in done.values()):
            return done
        await asyncio.sleep(0.5)


async def run(mode: str, args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        async with EmbeddedBroker(data, free_port()) as broker:
            nc = await connect([broker.url], "measure")
            await streams.apply(nc, REPO_ROOT / "streams")
            world = World()
            sock = bind("127.0.0.1", 0)
            base = f"http://127.0.0.1:{sock.getsockname()[1]}"
            stop = asyncio.Event()
            site = asyncio.create_task(serve(create_app(world, traffic=False), sock, stop))
            store, keys = EventStore(nc), KeyStore(nc, new_key())
            deps = WorkerDeps(
                worker_id="m1",
                nc=nc,
                store=store,
                keys=keys,
                master_key=keys.master,
                chromium=Chromium(),
                platforms={"douyin": load("douyin", PlatformOptions(base_url=base))},
                data_dir=data / "worker",
                timing=Timing(),
                crawl_slots=asyncio.Semaphore(args.parallel),
            )
            worker = BrowserWorker(deps)
            sampler = Sampler()
            idle_mb = sampler.now_mb()
            count = args.accounts if mode == "memory" else 1
            shape = (
                {"works": 8, "comments": 100, "conversations": 5, "messages": 6}
                if mode == "memory"
                else {"works": args.works, "comments": args.comments, "conversations": 5, "messages": 10}
            )
            ids = []
            for n in range(count):
                account_id = f"acc{n}"
                user = world.add_user(f"测量账号{n}")
                account = world.add_account(user.uid)
                seed.populate(world, account, random.Random(n), now=world.now(), **shape)
                session = world.open_session(user.uid)
                state = {
                    "cookies": [
                        {
                            "name": "sessionid",
                            "value": session.sessionid,
                            "domain": "127.0.0.1",
                            "path": "/",
                            "expires": -1,
                            "httpOnly": True,
                            "secure": False,
                            "sameSite": "Lax",
                        }
                    ],
                    "origins": [],
                }
                await keys.create(account_id)
                sealed = await keys.seal_for(account_id, msgspec.json.encode(state))
                config = AccountConfig(
                    account_id=account_id,
                    worker_id="m1",
                    platform="douyin",
                    account_name=account_id,
                    monitor_interval=args.interval,
                    logged_in=True,
                    sealed_credentials=sealed,
                    revision=1,
                )
                ids.append(account_id)
                await worker.on_config(config)
            started = time.monotonic()
            with sampler:
                done = await _wait_passes(nc, ids, args.passes)
            elapsed = time.monotonic() - started
            await worker.close()
            stop.set()
            await site
            await nc.close()
    if mode == "memory":
        print(f"accounts {count}, passes each {args.passes}, parallel {args.parallel}, {elapsed:.0f} s")
        print(f"idle process before Chromium: {idle_mb:.0f} MB PSS")
        print(f"peak (python + driver + Chromium): {sampler.peak_mb:.0f} MB PSS")
        print(f"per account: {(sampler.peak_mb - idle_mb) / count:.0f} MB")
    else:
        for s in done[ids[0]][: args.passes]:
            print(f"pass {s.pass_no} baseline={s.baseline}: {s.duration_ms} ms, saw {msgspec.to_builtins(s.counts)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("memory", "pass"))
    parser.add_argument("--accounts", type=int, default=10)
    parser.add_argument("--works", type=int, default=20)
    parser.add_argument("--comments", type=int, default=500)
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--interval", type=int, default=5)
    parser.add_argument("--parallel", type=int, default=2)
    args = parser.parse_args()
    asyncio.run(run(args.mode, args))


if __name__ == "__main__":
    main()
