"""Creating, updating and inspecting the streams and KV buckets described by `streams/*.json`.

The files hold exactly the JSON the JetStream API takes, and they are sent as they are, so what
`hiscrm streams apply` creates is what `nats stream add --config streams/X.json` would create.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import msgspec
import nats.errors
from nats.aio.client import Client

from hiscrm.errors import HiscrmError

API = "$JS.API"
NOT_FOUND = 10059


class StreamFile(msgspec.Struct, frozen=True):
    path: Path
    config: dict[str, Any]

    @property
    def name(self) -> str:
        return self.config["name"]

    @property
    def is_bucket(self) -> bool:
        return self.name.startswith("KV_")


def load(streams_dir: Path) -> list[StreamFile]:
    files = sorted(streams_dir.glob("*.json"))
    if not files:
        raise HiscrmError(f"no stream configs in {streams_dir} (set --streams-dir or HISCRM_STREAMS_DIR)")
    found = []
    for path in files:
        try:
            config = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise HiscrmError(f"{path} is not valid JSON: {exc}") from None
        if not isinstance(config, dict) or "name" not in config:
            raise HiscrmError(f"{path} has no stream name")
        found.append(StreamFile(path, config))
    return found


async def api(nc: Client, verb: str, payload: dict[str, Any] | None = None, timeout: float = 10.0) -> dict[str, Any]:
    msg = await nc.request(
        f"{API}.{verb}", json.dumps(payload).encode() if payload is not None else b"", timeout=timeout
    )
    return json.loads(msg.data)


_IGNORED = {"description"}
_EMPTY = (False, 0, None, "", [])


def _differs(wanted: dict[str, Any], actual: dict[str, Any], ignore: set[str] = _IGNORED) -> list[str]:
    # The server leaves false and zero settings out of what it returns; absent equals empty.
    return [
        key
        for key, value in wanted.items()
        if key not in ignore and actual.get(key, value if value in _EMPTY else None) != value
    ]


async def apply(
    nc: Client, streams_dir: Path, replicas: int | None = None, leader_wait_s: float = 30.0
) -> list[dict[str, Any]]:
    """Create missing streams, update changed ones; report what happened to each.

    Returns once every stream has a leader: a replicated stream is created before its nodes have
    elected one, and until then a publish finds no responder (nats: no response from stream).
    """
    report = []
    for sf in load(streams_dir):
        wanted = dict(sf.config)
        if replicas is not None:
            wanted["num_replicas"] = replicas
        info = await api(nc, f"STREAM.INFO.{sf.name}")
        error = info.get("error")
        if error and error.get("err_code") == NOT_FOUND:
            answer = await api(nc, f"STREAM.CREATE.{sf.name}", wanted)
            action = "created"
        elif error:
            raise HiscrmError(f"cannot read stream {sf.name}: {error.get('description')}")
        elif changed := _differs(wanted, info["config"]):
            answer = await api(nc, f"STREAM.UPDATE.{sf.name}", wanted)
            action = f"updated ({', '.join(changed)})"
        else:
            answer, action = info, "unchanged"
        if answer.get("error"):
            raise HiscrmError(f"{sf.path.name}: the server refused it: {answer['error'].get('description')}")
        report.append({"name": sf.name, "file": sf.path.name, "action": action})
        await _until_led(nc, sf.name, leader_wait_s)
    return report


async def _until_led(nc: Client, name: str, wait_s: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    while True:
        try:
            info = await api(nc, f"STREAM.INFO.{name}", timeout=2.0)
        except (nats.errors.NoRespondersError, nats.errors.TimeoutError):
            info = {"error": {"description": "no answer from its nodes"}}
        if (info.get("cluster") or {}).get("leader"):
            return
        if loop.time() >= deadline:
            reason = info["error"].get("description") if info.get("error") else "no leader elected"
            raise HiscrmError(f"stream {name} is not usable after {wait_s:g} s: {reason}")
        await asyncio.sleep(0.1)


async def status(nc: Client, streams_dir: Path) -> list[dict[str, Any]]:
    rows = []
    for sf in load(streams_dir):
        info = await api(nc, f"STREAM.INFO.{sf.name}")
        if info.get("error"):
            rows.append({"name": sf.name, "exists": False, "error": info["error"].get("description")})
            continue
        state, config = info["state"], info["config"]
        rows.append(
            {
                "name": sf.name,
                "exists": True,
                "kind": "kv" if sf.is_bucket else config.get("retention"),
                "messages": state.get("messages"),
                "bytes": state.get("bytes"),
                "first_seq": state.get("first_seq"),
                "last_seq": state.get("last_seq"),
                "consumers": state.get("consumer_count"),
                "replicas": config.get("num_replicas"),
                "drift": _differs(sf.config, config, _IGNORED | {"num_replicas"}),
                "cluster": info.get("cluster"),
            }
        )
    return rows
