"""`hiscrm up`: everything on one machine, stopped in reverse order on Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from hiscrm.api.auth import read_admin_token
from hiscrm.api.local_workers import WorkerSpec
from hiscrm.api.processes import process_count, run_group
from hiscrm.api.server import build as build_api
from hiscrm.api.server import run_fast
from hiscrm.api.server import serve as serve_api
from hiscrm.cli.runtime import SubParsers, command, settings, setup_logging, stop_event
from hiscrm.cli.worker_cmd import claim_worker_id
from hiscrm.coordinator.service import Coordinator, default_id
from hiscrm.private import private_dir
from hiscrm.procs import DataDirLock, bind, clear_stale_pid_file
from hiscrm.projector.runner import Projector
from hiscrm.sandbox import seed
from hiscrm.sandbox import server as sandbox_server
from hiscrm.sandbox.app import create_app as create_sandbox
from hiscrm.sandbox.state import World
from hiscrm.secrets.sealing import load_master_key
from hiscrm.store import streams
from hiscrm.store.auth import PID_FILE_NAME, WORKER_PREFIX, AuthSetup, ensure_auth, reload_broker
from hiscrm.store.broker import EmbeddedBroker
from hiscrm.store.connection import HiscrmClient, connect
from hiscrm.worker.demo import run_demo
from projections import MODELS

log = logging.getLogger("hiscrm.up")

Service = Callable[[asyncio.Event], Awaitable[None]]


def register(sub: SubParsers) -> None:
    parser = command(sub, "up", "run broker, streams, projector, API and the demo on this machine")
    parser.add_argument("--api-port", type=int, default=None, help="API port (HISCRM_API_PORT, default 8080)")
    parser.add_argument("--sandbox-port", type=int, default=None, help="sandbox port (default 8600)")
    parser.add_argument("--no-demo", action="store_true", help="do not start the sandbox and its demo account")
    parser.add_argument("--worker-id", default="local-1", help="id of the browser worker up starts (default local-1)")
    parser.add_argument("--max-accounts", type=int, default=10, help="accounts that worker takes (default 10)")
    parser.add_argument("--no-worker", action="store_true", help="start no browser worker (run them elsewhere)")
    parser.add_argument(
        "--api-workers",
        type=process_count,
        default=1,
        metavar="N",
        help="API processes sharing the API port (default 1, in this process; see `hiscrm api --workers`)",
    )
    parser.set_defaults(func=run, run_loop=run_fast)


async def run(args: argparse.Namespace) -> int:
    setup_logging()
    s = settings(args)
    stop = stop_event()
    async with contextlib.AsyncExitStack() as stack:
        # One `up` per data dir, and not on top of what an earlier one left; every child inherits the
        # lock, so it lasts until the last of them is gone (hiscrm/procs.py).
        lock = DataDirLock(private_dir(s.data_dir))
        await lock.acquire()
        stack.callback(lock.release)
        first_start = not (s.data_dir / "tokens.json").exists()
        if not args.no_worker:
            claim_worker_id(s.data_dir, args.worker_id).release()
        # Every port is taken before anything starts, so a busy one stops nothing but this command.
        api_sock = None
        if args.api_workers == 1:
            api_sock = stack.enter_context(contextlib.closing(bind(s.api_host, s.api_port, "API", "--api-port")))
        sandbox_sock = None
        if not args.no_demo:
            sandbox_sock = stack.enter_context(
                contextlib.closing(bind("127.0.0.1", s.sandbox_port, "sandbox", "--sandbox-port"))
            )
        auth: AuthSetup | None = None
        if s.embedded:
            # A broker an earlier run left behind (before runs owned their children) is stopped first.
            pid_file = s.data_dir / "nats" / PID_FILE_NAME
            if done := await asyncio.to_thread(clear_stale_pid_file, pid_file, "nats-server"):
                log.info("%s", done)
            # The embedded broker admits only its users: each service connects as its role, the
            # worker as itself, and none can do more than its job (ops/runbook.md, "Users").
            workers = [] if args.no_worker else [args.worker_id]
            auth = await asyncio.to_thread(ensure_auth, s.data_dir, workers, s.servers)
            broker = await stack.enter_async_context(
                EmbeddedBroker(
                    s.data_dir,
                    s.nats_port,
                    auth=auth,
                    pass_fds=(lock.fd,),
                    monitor_port=s.monitor_port(),
                )
            )
            print(f"broker      {broker.url} (embedded, store {broker.dir}, users in {auth.dir})", flush=True)
            if broker.monitor_url:
                print(f"monitoring  {broker.monitor_url}/varz  /connz  /jsz", flush=True)
        else:
            print(f"broker      {', '.join(s.servers)} (external)", flush=True)

        async def connect_as(role: str) -> HiscrmClient:
            credentials = auth.role(role) if auth else None
            nc = await connect(s.servers, f"hiscrm-up-{role}", wait_s=s.connect_timeout_s, credentials=credentials)
            stack.push_async_callback(let_go, nc)
            return nc

        admin_nc = await connect_as("admin")
        for row in await streams.apply(admin_nc, s.streams_dir):
            log.info("stream %s: %s", row["name"], row["action"])
        nc = await connect_as("api")

        services: dict[str, Service] = {}
        if s.embedded:
            # A broker killed under us stops everything, named, instead of an up serving on without one.
            services["broker"] = broker.watch
        # One machine owns its models: if HISCRM_EVENTS is another stream than they were built from
        # (recreated, or its store lost), rebuild from the one there rather than wait for an operator.
        projector = Projector(await connect_as("projector"), s.read_models_dir, MODELS, rebuild_on_other_stream=True)
        services["projector"] = projector.run
        print(f"projector   {s.read_models_dir}", flush=True)

        coordinator = Coordinator(
            await connect_as("coordinator"), load_master_key(s.data_dir), coordinator_id=default_id()
        )
        services["coordinator"] = coordinator.run
        print("coordinator leads while it holds the lease; more may run elsewhere", flush=True)

        app, api_services, _ = build_api(s, nc)
        stack.callback(api_services.models.close)
        if args.api_workers > 1:
            # The group's processes serve HTTP (as the api user); the browser worker stays this process's child.
            group = dataclasses.replace(s, nats_creds=auth.creds_path("api") if auth else s.nats_creds)
            services["api"] = lambda stop: run_group(group, s.api_host, s.api_port, args.api_workers, stop)
        elif api_sock is not None:  # bound with the other ports above, as api_workers is 1
            services["api"] = lambda stop: serve_api(app, s.api_host, s.api_port, stop, api_sock)
        print(f"API         http://{s.api_host}:{s.api_port}/  (admin console /admin/)", flush=True)
        admin = read_admin_token(s.data_dir)
        if first_start and admin is not None:
            # Shown once, when it is made: a terminal's scrollback or a captured log is not where a secret lives.
            print(f"admin token {admin}  (kept in {s.data_dir / 'admin.token'}, readable by you only)", flush=True)
        else:
            print(
                f"admin token in {s.data_dir / 'admin.token'}; more with `hiscrm tokens add --role admin`", flush=True
            )

        local_workers = api_services.extras["local_workers"]
        # Whatever ends `up`, its workers stop first (or, if it dies, with it: see hiscrm/lifeline.py).
        local_workers.pass_fds = (lock.fd,)
        stack.push_async_callback(local_workers.close)
        if auth is not None:
            local_workers.prepare = lambda worker_id: worker_credentials(s.data_dir, worker_id, broker.pid_file)
        if sandbox_sock is not None:
            # The sandbox keeps its world between runs, so the demo account's session survives a restart.
            state = s.data_dir / "sandbox.json"
            world = World.load(state) if state.exists() else seed.demo_world()
            sandbox = create_sandbox(world, state_path=state)
            services["sandbox"] = lambda stop: sandbox_server.serve(sandbox, sandbox_sock, stop)
            services["demo"] = lambda stop: run_demo(nc, api_services.keys, world, stop)
            # The worker's Douyin adapter crawls the sandbox instead of the real site.
            local_workers.environment["HISCRM_DOUYIN_BASE_URL"] = f"http://127.0.0.1:{s.sandbox_port}"
            print(f"sandbox     http://127.0.0.1:{s.sandbox_port}/  (simulated Douyin creator site)", flush=True)
        if not args.no_worker:
            spec = WorkerSpec(worker_id=args.worker_id, platforms=["douyin"], max_accounts=args.max_accounts)
            await local_workers.start(spec)
            print(f"worker      {spec.worker_id} (log {local_workers.log_path(spec.worker_id)})", flush=True)

        print("Ctrl-C stops everything", flush=True)
        await supervise(services, stop)
    print("stopped", flush=True)
    return 0


async def let_go(nc: HiscrmClient) -> None:
    """Drain the connection, as `nats_client` does: one reconnecting to a broker that is gone (killed
    under us) cannot drain (and nats-py's close fails on its dead transport under uvloop too), and
    that must not replace the reason `up` stops with a traceback."""
    with contextlib.suppress(Exception):
        await nc.drain()


def worker_credentials(data_dir: Path, worker_id: str, pid_file: Path) -> dict[str, str]:
    """A user for a worker the API starts, made known to the running broker; the env that hands it over."""
    setup = ensure_auth(data_dir, [worker_id])
    reload_broker(pid_file)
    return {"HISCRM_NATS_CREDS": str(setup.creds_path(WORKER_PREFIX + worker_id))}


async def supervise(services: dict[str, Service], stop: asyncio.Event) -> None:
    """Run every service until Ctrl-C or until one fails; then stop them all and re-raise the failure."""
    tasks = {asyncio.create_task(run(stop), name=name): name for name, run in services.items()}
    stopper = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait({stopper, *tasks}, return_when=asyncio.FIRST_COMPLETED)
    stop.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    for task, result in zip(tasks, results, strict=True):
        if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
            log.error("%s failed: %r", tasks[task], result)
            raise result
        if task in done and stopper not in done:
            log.error("%s stopped by itself; stopping everything", tasks[task])
