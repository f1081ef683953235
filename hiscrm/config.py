"""Settings shared by every command: flags first, then HISCRM_* variables, then defaults."""

from __future__ import annotations

import argparse
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path

from hiscrm.errors import HiscrmError

REPO_ROOT = Path(__file__).resolve().parent.parent


def env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"HISCRM_{name}", default)


DEFAULT_CONNECT_TIMEOUT_S = 5.0
MONITOR_OFFSET = 4000  # the monitoring port beside the client port, as nats-server's defaults (4222, 8222)


@dataclass(frozen=True)
class Settings:
    data_dir: Path = field(default_factory=lambda: Path("./var").resolve())
    nats_urls: tuple[str, ...] = ()
    nats_port: int = 4222
    api_host: str = "127.0.0.1"
    api_port: int = 8080
    sandbox_port: int = 8600
    streams_dir: Path = field(default_factory=lambda: REPO_ROOT / "streams")
    nats_creds: Path | None = None  # a credentials file from `hiscrm auth`; else HISCRM_NATS_USER/PASSWORD
    connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S
    # The embedded broker's monitoring port (/varz, /connz, /jsz); None: off. Named, or else beside the client port.
    nats_monitor_port: int | None = None
    nats_monitor_named: bool = False

    @property
    def embedded(self) -> bool:
        """True when no external server or cluster is named, so `up` starts its own broker."""
        return not self.nats_urls

    @property
    def servers(self) -> list[str]:
        return list(self.nats_urls) or [f"nats://127.0.0.1:{self.nats_port}"]

    def monitor_port(self) -> int | None:
        """The embedded broker's monitoring port: the one named, or the one beside the client port (as in
        ops/, 4222 -> 8222) when nothing listens there, so a busy neighbour never stops the broker."""
        port = self.nats_monitor_port
        if port is None or self.nats_monitor_named:
            return port
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return None
        return port

    @property
    def read_models_dir(self) -> Path:
        return self.data_dir / "read-models"


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", default=None, help="data directory (HISCRM_DATA_DIR, default ./var)")
    parser.add_argument(
        "--nats-url",
        action="append",
        default=None,
        help="NATS server URL; repeat or comma-separate for a cluster (HISCRM_NATS_URL)",
    )
    parser.add_argument("--nats-port", type=int, default=None, help="embedded broker port (default 4222)")
    parser.add_argument(
        "--nats-monitor-port",
        type=int,
        default=None,
        help=f"embedded broker's monitoring port (HISCRM_NATS_MONITOR_PORT, default broker port + {MONITOR_OFFSET})",
    )
    parser.add_argument(
        "--no-nats-monitor", action="store_true", help="the embedded broker serves no monitoring endpoint"
    )
    parser.add_argument(
        "--nats-creds",
        default=None,
        help="NATS credentials file written by `hiscrm auth` (HISCRM_NATS_CREDS; or HISCRM_NATS_USER/PASSWORD)",
    )
    parser.add_argument(
        "--connect-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help=f"give up when no broker answers the first connect within this (HISCRM_CONNECT_TIMEOUT, "
        f"default {DEFAULT_CONNECT_TIMEOUT_S:.0f})",
    )


def split_urls(values: list[str] | None) -> tuple[str, ...]:
    urls: list[str] = []
    for value in values or ():
        urls.extend(u.strip() for u in value.split(",") if u.strip())
    return tuple(urls)


def data_dir_from(args: argparse.Namespace) -> Path:
    """The data dir as one absolute path without symlinks or `..`, resolved once here, so that everything
    inside compares and hands on paths that name each directory one way (and children started from
    another directory find the same one)."""
    return Path(getattr(args, "data_dir", None) or env("DATA_DIR", "./var") or "./var").resolve()


def connect_timeout_from(args: argparse.Namespace) -> float:
    flag = getattr(args, "connect_timeout", None)
    raw = str(flag) if flag is not None else env("CONNECT_TIMEOUT") or str(DEFAULT_CONNECT_TIMEOUT_S)
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise HiscrmError(f"--connect-timeout or HISCRM_CONNECT_TIMEOUT must be positive seconds, not {raw!r}")
    return value


def monitor_port_from(args: argparse.Namespace, nats_port: int) -> tuple[int | None, bool]:
    """(port or None when off, whether it was named); 0 names none either."""
    if getattr(args, "no_nats_monitor", False):
        return None, True
    raw = getattr(args, "nats_monitor_port", None)
    raw = raw if raw is not None else env("NATS_MONITOR_PORT")
    if raw is not None:
        try:
            port = int(raw)
        except ValueError:
            port = -1
        if not 0 <= port <= 65535:
            raise HiscrmError(f"--nats-monitor-port or HISCRM_NATS_MONITOR_PORT must be a port, not {raw!r}")
        return port or None, True
    beside = nats_port + MONITOR_OFFSET
    return (beside if beside <= 65535 else None), False


def settings_from(args: argparse.Namespace) -> Settings:
    urls = split_urls(getattr(args, "nats_url", None)) or split_urls([env("NATS_URL", "") or ""])
    nats_port = int(getattr(args, "nats_port", None) or env("NATS_PORT", "4222") or 4222)
    monitor_port, monitor_named = monitor_port_from(args, nats_port)
    return Settings(
        data_dir=data_dir_from(args),
        nats_urls=urls,
        nats_port=nats_port,
        nats_monitor_port=monitor_port,
        nats_monitor_named=monitor_named,
        api_port=int(getattr(args, "api_port", None) or env("API_PORT", "8080") or 8080),
        sandbox_port=int(getattr(args, "sandbox_port", None) or env("SANDBOX_PORT", "8600") or 8600),
        streams_dir=Path(env("STREAMS_DIR", str(REPO_ROOT / "streams")) or REPO_ROOT / "streams"),
        nats_creds=Path(creds) if (creds := getattr(args, "nats_creds", None) or env("NATS_CREDS")) else None,
        connect_timeout_s=connect_timeout_from(args),
    )
