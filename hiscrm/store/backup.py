"""Stream backups through the JetStream snapshot API, and restores into fresh streams.

A snapshot is the server's own copy of a stream's files (a compressed tar), so a restore brings
back every message with its sequence, subject, headers and original timestamp: read models rebuilt
after a restore equal those rebuilt before, and the projector's checkpoints still name the same
facts. nats-py has no client for it, so the chunked protocol is spoken here: the server sends the
snapshot in chunks to an inbox (a chunk with a reply subject wants an empty answer before more come,
which is its flow control) and ends with an empty message; a restore sends the same bytes, each
chunk as a request, then an empty request that answers with the restored stream's info.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from nats.aio.client import Client
from nats.aio.msg import Msg

from hiscrm.errors import HiscrmError
from hiscrm.store.streams import NOT_FOUND, api

CHUNK = 128 * 1024


async def snapshot(nc: Client, stream: str, dest: Path, timeout: float = 60.0) -> dict[str, Any]:
    """Write `<dest>/<stream>.tar.s2` and `<dest>/<stream>.json` (config and state) into the existing `dest`."""
    inbox = nc.new_inbox()
    finished = asyncio.Event()
    with (dest / f"{stream}.tar.s2").open("wb") as out:

        async def chunk(msg: Msg) -> None:
            if not msg.data:
                finished.set()
                return
            out.write(msg.data)
            if msg.reply:
                await nc.publish(msg.reply, b"")

        sub = await nc.subscribe(inbox, cb=chunk)
        try:
            meta = await api(
                nc, f"STREAM.SNAPSHOT.{stream}", {"deliver_subject": inbox, "no_consumers": True, "chunk_size": CHUNK}
            )
            if meta.get("error"):
                raise HiscrmError(f"cannot snapshot {stream}: {meta['error'].get('description')}")
            try:
                await asyncio.wait_for(finished.wait(), timeout)
            except TimeoutError:
                raise HiscrmError(f"the snapshot of {stream} did not finish within {timeout:.0f} s") from None
        finally:
            await sub.unsubscribe()
    (dest / f"{stream}.json").write_text(json.dumps({"config": meta["config"], "state": meta["state"]}, indent=2))
    return meta["state"]


async def restore(nc: Client, stream: str, src: Path, replicas: int | None = None) -> dict[str, Any]:
    """Recreate `stream` from a snapshot in `src`; it must not exist. Returns the restored stream's state."""
    info = await api(nc, f"STREAM.INFO.{stream}")
    if not info.get("error"):
        raise HiscrmError(
            f"stream {stream} exists ({info['state']['messages']} messages); a restore only recreates a missing "
            f"stream, so delete it first (nats stream rm {stream}) if you mean to replace it"
        )
    if info["error"].get("err_code") != NOT_FOUND:
        raise HiscrmError(f"cannot read stream {stream}: {info['error'].get('description')}")
    meta = json.loads((src / f"{stream}.json").read_text())
    if replicas is not None:
        meta["config"]["num_replicas"] = replicas
    answer = await api(nc, f"STREAM.RESTORE.{stream}", meta)
    if answer.get("error"):
        raise HiscrmError(f"the server refused to restore {stream}: {answer['error'].get('description')}")
    upload = answer["deliver_subject"]
    with (src / f"{stream}.tar.s2").open("rb") as data:
        while block := data.read(CHUNK):
            await nc.request(upload, block, timeout=30)
    done = json.loads((await nc.request(upload, b"", timeout=120)).data)
    if done.get("error"):
        raise HiscrmError(f"restoring {stream} failed: {done['error'].get('description')}")
    return done["state"]
