"""`hiscrm worker`: a browser worker that runs the accounts the coordinator assigns to it."""

from __future__ import annotations

import argparse
import os
import socket
from pathlib import Path

from hiscrm import platforms
from hiscrm.cli.runtime import SubParsers, command, settings, setup_logging, stop_event
from hiscrm.config import env
from hiscrm.errors import HiscrmError
from hiscrm.facts.subjects import worker_token
from hiscrm.procs import Claim, describe
from hiscrm.worker.account_runner import Timing
from hiscrm.worker.presence import TTL_S
from hiscrm.worker.service import WorkerOptions, run_worker


def register(sub: SubParsers) -> None:
    parser = command(sub, "worker", "run a browser worker (Playwright + Chromium) for the assigned accounts")
    parser.add_argument("--id", dest="worker_id", default=None, help="worker id (HISCRM_WORKER_ID, default the host)")
    parser.add_argument(
        "--platforms", default=None, help=f"comma-separated platforms (default all: {', '.join(platforms.available())})"
    )
    parser.add_argument("--max-accounts", type=int, default=None, help="accounts this worker takes (default 10)")
    parser.add_argument(
        "--base-url",
        action="append",
        default=[],
        metavar="[PLATFORM=]URL",
        help="point a platform's adapter at another origin, e.g. the sandbox (HISCRM_<PLATFORM>_BASE_URL)",
    )
    parser.add_argument("--parallel", type=int, default=None, help="crawl passes at once (default 2)")
    parser.add_argument("--backoff-base", type=float, default=None, help="first backoff in seconds (default 60)")
    parser.add_argument("--backoff-cap", type=float, default=None, help="longest backoff in seconds (default 3600)")
    parser.add_argument("--headful", action="store_true", help="show the browser windows (needs a display)")
    parser.set_defaults(func=run)


def _platforms(args: argparse.Namespace) -> tuple[str, ...]:
    known = platforms.available()
    chosen = tuple(p.strip() for p in (args.platforms or ",".join(known)).split(",") if p.strip())
    unknown = sorted(set(chosen) - set(known))
    if unknown or not chosen:
        raise HiscrmError(f"unknown platform {', '.join(unknown) or '(none)'}; known: {', '.join(known)}")
    return chosen


def _base_urls(args: argparse.Namespace, chosen: tuple[str, ...]) -> dict[str, str]:
    urls = {name: url for name in chosen if (url := env(f"{name.upper()}_BASE_URL"))}
    for value in args.base_url:
        name, sep, url = value.partition("=")
        if not sep or "://" in name:
            if len(chosen) != 1:
                raise HiscrmError(f"--base-url {value}: name the platform (PLATFORM=URL) when running several")
            name, url = chosen[0], value
        if name not in chosen:
            raise HiscrmError(f"--base-url {value}: this worker does not run platform {name!r}")
        urls[name] = url
    return urls


def _number(flag: float | None, name: str, default: float) -> float:
    if flag is not None:
        return flag
    raw = env(name)
    try:
        return float(raw) if raw else default
    except ValueError:
        raise HiscrmError(f"HISCRM_{name} must be a number, got {raw!r}") from None


def options_from(args: argparse.Namespace) -> WorkerOptions:
    chosen = _platforms(args)
    host = socket.gethostname().split(".")[0]
    worker_id = worker_token(args.worker_id or env("WORKER_ID") or f"worker-{host}")
    return WorkerOptions(
        worker_id=worker_id,
        platforms=chosen,
        max_accounts=int(_number(args.max_accounts, "MAX_ACCOUNTS", 10)),
        base_urls=_base_urls(args, chosen),
        parallel=int(_number(args.parallel, "WORKER_PARALLEL", 2)),
        timing=Timing(
            backoff_base_s=_number(args.backoff_base, "WORKER_BACKOFF_BASE", Timing.backoff_base_s),
            backoff_cap_s=_number(args.backoff_cap, "WORKER_BACKOFF_CAP", Timing.backoff_cap_s),
        ),
        headless=not args.headful,
        presence_ttl_s=_number(None, "WORKER_PRESENCE_TTL", TTL_S),
    )


def claim_worker_id(data_dir: Path, worker_id: str) -> Claim:
    """One process per worker id and data dir: two would crawl the same accounts and race on their files."""
    claim = Claim(data_dir / "workers" / f"{worker_id}.lock")
    if not claim.try_take():
        holder = claim.owner()
        raise HiscrmError(
            f"worker {worker_id} already runs on {data_dir} ({describe([holder] if holder else claim.holders())}); "
            "stop that one first, or give this one another --id"
        )
    return claim


async def run(args: argparse.Namespace) -> int:
    setup_logging()
    options = options_from(args)
    s = settings(args)
    claim = claim_worker_id(s.data_dir, options.worker_id)
    try:
        stop = stop_event()
        print(f"worker {options.worker_id} (pid {os.getpid()}): {', '.join(options.platforms)}", flush=True)
        await run_worker(s, options, stop)
    finally:
        claim.release()
    return 0
