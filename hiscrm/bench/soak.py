"""The soak run (issue 7): a 3-node cluster, real workers and sandbox accounts with traffic, a worker
killed at a third of the time and a broker node restarted at two thirds; then no acknowledged fact
lost, the read models equal a clean rebuild, lag recovered, memory flat. Not a CI test: run by hand.

    .venv/bin/python -m hiscrm.bench.soak --minutes 10 --accounts 50 --workers 3

Everything listens on 127.0.0.1 and lives in a temporary directory (kept with --keep, or when a
check fails). Every process it starts runs in its own process group and is stopped (SIGKILL at the
latest) on the way out. Prints one JSON object; exits 1 when a check fails. ops/runbook.md, "Soak run".
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import inspect
import itertools
import json
import logging
import math
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hiscrm.bench.soak_procs import Children
from hiscrm.bench.soak_site import Site
from hiscrm.bench.soak_tap import AckTap
from hiscrm.bench.soak_watch import Tally
from hiscrm.cli.projections_cmd import status_of
from hiscrm.config import REPO_ROOT
from hiscrm.facts import catalogue as c
from hiscrm.facts.codec import MSG_ID
from hiscrm.facts.subjects import CONFIG_BUCKET, EVENTS_STREAM
from hiscrm.lifeline import command_for as lifeline_command
from hiscrm.secrets.keystore import KeyStore
from hiscrm.secrets.sealing import new_key
from hiscrm.store import reader, streams
from hiscrm.store.auth import WORKER_PREFIX, AuthSetup, ensure_auth
from hiscrm.store.broker import free_port
from hiscrm.store.cluster import LoopbackCluster
from hiscrm.store.connection import HiscrmClient, connect
from hiscrm.store.event_store import EventStore
from hiscrm.worker.footprint import memory_bytes

log = logging.getLogger("hiscrm.soak")

SAMPLE_S = 10.0
POLL_S = 0.5
LOGIN_ATTEMPTS = 3
LOGIN_WAIT_S = 120.0  # for one attempt's QR and outcome; a busy worker on two cores can be slow
LOGIN_LIFE_MS = 300_000  # as the API asks
FAULT_WAIT_S = 240.0  # for each consequence of a fault (offline, reassigned, resumed, caught up)
NODE_DOWN_S = 2.0
MEMORY_GROWTH_LIMIT_PCT = 15.0  # steady-state PSS growth per worker, first third to last third
STEADY_MIN_SAMPLES = 12  # two minutes of samples at least, or the memory of that worker is not judged
KEEPS_UP_FACTOR = 1.5  # the median gap between an account's passes, against its interval


@dataclass(frozen=True)
class Plan:
    minutes: float
    accounts: int
    workers: int
    max_accounts: int
    interval_s: int
    comments_per_minute: float
    messages_per_minute: float
    login_batch: int
    parallel: int

    @property
    def worker_ids(self) -> list[str]:
        return [f"w{i + 1}" for i in range(self.workers)]


@dataclass
class Sample:
    t: float  # seconds into the run phase
    head: int | None
    checkpoint: int | None
    lag: int | None
    pss_mb: dict[str, float]
    held: dict[str, int]
    facts: dict[str, int]  # appended since the previous sample, per kind


@dataclass
class Fault:
    what: str
    at_s: float
    victim: str
    figures: dict[str, float | int | None] = field(default_factory=dict)


async def until(check: Callable[[], bool | Awaitable[bool]], timeout: float) -> float | None:
    """Seconds until `check` held (polled), or None if it did not within `timeout`."""
    started = time.monotonic()
    while True:
        held = check()
        if inspect.isawaitable(held):
            held = await held
        if held:
            return round(time.monotonic() - started, 2)
        if time.monotonic() - started > timeout:
            return None
        await asyncio.sleep(POLL_S)


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def thirds(values: list[float]) -> tuple[float, float, float | None]:
    """Average of the first and of the last third, and the growth from one to the other in %."""
    third = max(1, len(values) // 3)
    first, last = statistics.fmean(values[:third]), statistics.fmean(values[-third:])
    return round(first, 1), round(last, 1), round(100 * (last - first) / first, 1) if first else None


class LagWatch:
    """The largest projection lag seen while a fault lasts, polled.

    It ends by an event rather than by cancellation: a cancel landing as a nats-py request is
    answered is lost on Python 3.11 (see hiscrm.parts.cancel_and_wait), and the poll would never end.
    """

    def __init__(self, soak: Soak) -> None:
        self._over = asyncio.Event()
        self._task = asyncio.create_task(self._watch(soak))

    async def _watch(self, soak: Soak) -> int:
        peak = 0
        while not self._over.is_set():
            now = await soak.projection()
            peak = max(peak, now[0] - now[1]) if now else peak
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._over.wait(), POLL_S)
        return peak

    async def peak(self) -> int:
        self._over.set()
        return await self._task


class Soak:
    def __init__(self, plan: Plan, root: Path) -> None:
        self.plan = plan
        self.root = root
        self.auth: AuthSetup = ensure_auth(root, plan.worker_ids)
        self.cluster = LoopbackCluster(root / "nats", auth=self.auth)
        self.master = base64.b64encode(new_key()).decode()
        self.children = Children(root, {"HISCRM_MASTER_KEY": self.master})
        self.tally = Tally()
        self.tap = AckTap()
        self.connections: list[HiscrmClient] = []
        self.site = Site(f"http://127.0.0.1:{free_port()}")
        self.uids: dict[str, str] = {}  # account -> sandbox uid
        self.killed: set[str] = set()
        self.samples: list[Sample] = []
        self.faults: list[Fault] = []
        self.login_s: list[float] = []
        self.login_failures: dict[str, str] = {}
        self.run_started = 0.0
        self.run_started_ms = 0
        self.lmdb_lock = asyncio.Lock()

    # ------------------------------------------------------------------ start

    async def connect(self, role: str, servers: list[str] | None = None) -> HiscrmClient:
        nc = await connect(servers or self.cluster.urls, f"soak-{role}", credentials=self.auth.role(role))
        self.connections.append(nc)
        return nc

    def nats_args(self, data_dir: Path) -> list[str]:
        return ["--data-dir", str(data_dir), *(a for url in self.cluster.urls for a in ("--nats-url", url))]

    def creds(self, user: str) -> dict[str, str]:
        return {"HISCRM_NATS_CREDS": str(self.auth.creds_path(user))}

    async def start(self) -> None:
        await self.cluster.start()
        self.admin = await self.connect("admin")
        await streams.apply(self.admin, REPO_ROOT / "streams", replicas=3)
        for url in self.cluster.urls:  # one tap per node: a restarted node must not blind it
            await self.tap.attach(await self.connect("admin", [url]))
        self.tally.start(self.admin)
        api = await self.connect("api")  # the soak appends what the API would, as the API may
        self.store, self.keys = EventStore(api), KeyStore(api, base64.b64decode(self.master))

        port = self.site.base.rsplit(":", 1)[1]
        self.children.spawn("sandbox", "sandbox", "--port", port, "--seed", "empty")
        services = self.root / "services"
        self.children.spawn("coordinator", "coordinator", *self.nats_args(services), env=self.creds("coordinator"))
        self.children.spawn("projector", "projector", *self.nats_args(services), env=self.creds("projector"))
        await self.site.wait_up()
        for worker in self.plan.worker_ids:
            args = ["--id", worker, "--platforms", "douyin", "--max-accounts", str(self.plan.max_accounts)]
            args += ["--parallel", str(self.plan.parallel), "--base-url", self.site.base]
            self.children.spawn(
                worker, "worker", *args, *self.nats_args(self.root / worker), env=self.creds(WORKER_PREFIX + worker)
            )
        # Accounts created before every worker is up would pile onto the first and be rebalanced later.
        if await until(lambda: self.tally.registered >= set(self.plan.worker_ids), 180) is None:
            raise RuntimeError(f"workers did not register: {sorted(self.tally.registered)}")

    async def create_accounts(self) -> None:
        for n in range(self.plan.accounts):
            account_id = f"soak{n:03d}"
            self.uids[account_id] = await self.site.add_account(n)
            # The key first, as the API does: once account.created is visible, a login may need it.
            await self.keys.create(account_id)
            created = c.AccountCreated(
                account_id=account_id,
                platform="douyin",
                account_name=f"压测 {account_id}",
                monitor_interval=self.plan.interval_s,
            )
            await self.store.append(created, expected_last_seq=0)

    def live_workers(self) -> set[str]:
        return self.tally.registered - self.killed - set(self.tally.offline)

    async def log_in(self, account_id: str) -> None:
        """login.requested as the API appends it, then the phone confirms the QR that login shows."""
        started = time.monotonic()
        outcome = "never assigned to a live worker"
        for attempt in range(1, LOGIN_ATTEMPTS + 1):
            if await until(lambda: self.tally.holder.get(account_id) in self.live_workers(), LOGIN_WAIT_S) is None:
                break
            login_id = f"{account_id}-L{attempt}"
            expires = int(time.time() * 1000) + LOGIN_LIFE_MS
            requested = c.LoginRequested(
                login_id=login_id, account_id=account_id, expires_at_ms=expires, requested_by="soak"
            )
            await self.store.append(requested, expected_last_seq=0)
            deadline = time.monotonic() + LOGIN_WAIT_S
            scanned = False
            while login_id not in self.tally.login_outcome and time.monotonic() < deadline:
                images = self.tally.qr_images.get(login_id)
                if images and not scanned:
                    scanned = await self.site.scan_shown(images, self.uids[account_id])
                await asyncio.sleep(POLL_S)
            outcome = self.tally.login_outcome.get(login_id, f"no outcome within {LOGIN_WAIT_S:g} s")
            if outcome == "succeeded":
                self.login_s.append(round(time.monotonic() - started, 1))
                return
            log.warning("login %s: %s", login_id, outcome)
        self.login_failures[account_id] = outcome

    async def log_in_all(self) -> None:
        ids = list(self.uids)
        for start in range(0, len(ids), self.plan.login_batch):
            await asyncio.gather(*(self.log_in(a) for a in ids[start : start + self.plan.login_batch]))

    # ------------------------------------------------------------------ measuring

    async def projection(self) -> tuple[int, int] | None:
        """(stream head, projector checkpoint); None while the cluster cannot answer (a node is down)."""
        try:
            head = await reader.stream_head(self.admin)
        except Exception as exc:
            log.info("stream head unavailable: %r", exc)
            return None
        # LMDB must not have one environment open twice in a process at once: one reader at a time.
        async with self.lmdb_lock:
            status = await asyncio.to_thread(status_of, self.root / "services" / "read-models", head)
        return head, int(status["checkpoint"])  # type: ignore[call-overload]

    async def caught_up_with(self, head: int, timeout: float) -> float | None:
        """Seconds until the projector's checkpoint reached `head`."""

        async def reached() -> bool:
            now = await self.projection()
            return now is not None and now[1] >= head

        return await until(reached, timeout)

    def held(self) -> dict[str, int]:
        return dict(Counter(w for w in self.tally.holder.values() if w is not None))

    async def sample(self, previous: Counter[str]) -> Counter[str]:
        now = await self.projection()
        pss: dict[str, float] = {}
        for worker in self.plan.worker_ids:
            if worker not in self.killed and self.children.alive(worker):
                found = await asyncio.to_thread(memory_bytes, self.children.pid(worker))
                pss[worker] = round((found or 0) / 2**20, 1)
        kinds = Counter(self.tally.kinds)
        self.samples.append(
            Sample(
                t=round(time.monotonic() - self.run_started, 1),
                head=now[0] if now else None,
                checkpoint=now[1] if now else None,
                lag=max(0, now[0] - now[1]) if now else None,
                pss_mb=pss,
                held=self.held(),
                facts=dict(kinds - previous),
            )
        )
        return kinds

    # ------------------------------------------------------------------ faults

    async def kill_worker(self) -> Fault:
        held = self.held()
        victim = max(self.plan.worker_ids, key=lambda w: held.get(w, 0))
        moving = [a for a, w in self.tally.holder.items() if w == victim]
        fault = Fault("worker killed (SIGKILL of its process tree)", self.elapsed(), victim)
        started, started_ms = time.monotonic(), int(time.time() * 1000)
        watching = LagWatch(self)
        self.killed.add(victim)
        await self.children.kill(victim)
        f = fault.figures
        f["accounts_held"] = len(moving)
        f["went_offline_s"] = await until(lambda: victim in self.tally.offline, FAULT_WAIT_S)
        live = set(self.plan.worker_ids) - self.killed
        reassigned = await until(lambda: all(self.tally.holder.get(a) in live for a in self.uids), FAULT_WAIT_S)
        f["all_reassigned_s"] = None if reassigned is None else round(time.monotonic() - started, 1)
        resumed = await until(lambda: all(self.tally.passes_since(a, started_ms, live) for a in moving), FAULT_WAIT_S)
        f["crawling_resumed_s"] = None if resumed is None else round(time.monotonic() - started, 1)
        await self.lag_after(fault, watching)
        return fault

    async def restart_node(self) -> Fault:
        info = await streams.api(self.admin, f"STREAM.INFO.{EVENTS_STREAM}")
        victim = info["cluster"]["leader"]
        fault = Fault(
            f"broker node restarted (SIGKILL, {NODE_DOWN_S:g} s down): the stream leader", self.elapsed(), victim
        )
        started = time.monotonic()
        watching = LagWatch(self)
        await self.cluster.crash_and_restart(victim, NODE_DOWN_S)
        fault.figures["node_back_s"] = round(time.monotonic() - started, 1)

        async def replicas_current() -> bool:
            with contextlib.suppress(Exception):
                state = (await streams.api(self.admin, f"STREAM.INFO.{EVENTS_STREAM}"))["cluster"]
                peers = [state.get("leader"), *(r["name"] for r in state.get("replicas", []) if r.get("current"))]
                return {n.name for n in self.cluster.nodes} <= set(peers)
            return False

        current = await until(replicas_current, FAULT_WAIT_S)
        fault.figures["replicas_current_s"] = None if current is None else round(time.monotonic() - started, 1)
        await self.lag_after(fault, watching)
        return fault

    async def lag_after(self, fault: Fault, watching: LagWatch) -> None:
        """Recovered: once the fault is over, the projector applied every fact the stream held then."""
        fault.figures["lag_peak"] = await watching.peak()
        answers: list[tuple[int, int]] = []

        async def answered() -> bool:
            now = await self.projection()
            answers.extend([now] if now else [])
            return now is not None

        if await until(answered, FAULT_WAIT_S) is None:
            fault.figures["lag_recovered_s"] = None
            return
        head, checkpoint = answers[-1]
        fault.figures["lag_at_fault_end"] = max(0, head - checkpoint)
        fault.figures["lag_recovered_s"] = await self.caught_up_with(head, FAULT_WAIT_S)

    def elapsed(self) -> float:
        return round(time.monotonic() - self.run_started, 1)

    # ------------------------------------------------------------------ the run

    async def run_phase(self) -> None:
        for uid in self.uids.values():
            await self.site.traffic(uid, self.plan.comments_per_minute, self.plan.messages_per_minute)
        self.run_started, self.run_started_ms = time.monotonic(), int(time.time() * 1000)
        duration = self.plan.minutes * 60
        schedule: list[tuple[float, Callable[[], Any]]] = [
            (duration / 3, self.kill_worker),
            (duration * 2 / 3, self.restart_node),
        ]
        faults: list[asyncio.Task[Fault]] = []
        kinds: Counter[str] = Counter(self.tally.kinds)
        next_sample = 0.0
        while (elapsed := time.monotonic() - self.run_started) < duration:
            while schedule and elapsed >= schedule[0][0]:
                faults.append(asyncio.create_task(schedule.pop(0)[1]()))
            if elapsed >= next_sample:
                kinds = await self.sample(kinds)
                next_sample += SAMPLE_S
            await asyncio.sleep(min(1.0, max(0.0, next_sample - (time.monotonic() - self.run_started))))
        self.faults = list(await asyncio.gather(*faults))

    async def quiesce(self) -> dict[str, Any]:
        """Traffic off; every account crawled once more by a live worker, so all of it is observed."""
        for uid in self.uids.values():
            await self.site.traffic(uid, 0, 0)
        quiet_ms = int(time.time() * 1000)
        live = set(self.plan.worker_ids) - self.killed
        synced = await until(
            lambda: all(self.tally.passes_since(a, quiet_ms, live) for a in self.uids), 3 * self.plan.interval_s + 90
        )
        config_keys = await self.config_keys()
        return {
            "synced_after_traffic_stop_s": synced,
            "accounts_on_live_workers": sum(self.tally.holder.get(a) in live for a in self.uids),
            "config_keys_on_live_workers": sum(1 for k in config_keys if k.split(".")[0] in live),
            "config_keys": len(config_keys),
            "held": self.held(),
        }

    async def config_keys(self) -> list[str]:
        kv = await self.admin.jetstream().key_value(CONFIG_BUCKET)
        with contextlib.suppress(Exception):  # nats-py raises when the bucket holds no keys
            return list(await kv.keys())
        return []

    async def wind_down(self) -> dict[str, Any]:
        """Workers and coordinator stop in order; then the projector reaches the head and stops."""
        codes = {}
        for name in [*self.plan.worker_ids, "coordinator"]:
            if name not in self.killed:
                codes[name] = await self.children.stop(name, timeout=60)
        head = await reader.stream_head(self.admin)
        lag_zero = await self.caught_up_with(head, 120)
        codes["projector"] = await self.children.stop("projector")
        return {"exit_codes": codes, "final_head": head, "lag_zero_after_s": lag_zero}

    async def audit(self) -> dict[str, Any]:
        """Read the whole stream: every acknowledged fact at its sequence, no Nats-Msg-Id twice, no hole."""
        state = (await streams.api(self.admin, f"STREAM.INFO.{EVENTS_STREAM}"))["state"]
        stored: dict[str, int] = {}
        twice: list[str] = []
        count = 0
        async for raw in reader.read_raw(self.admin):
            count += 1
            msg_id = (raw.headers.get(MSG_ID) if raw.headers else None) or f"(none at {raw.seq})"
            if msg_id in stored:
                twice.append(f"{msg_id} at {stored[msg_id]} and {raw.seq}")
            else:
                stored[msg_id] = raw.seq
        lost = [
            f"{m} acknowledged at {s}, stored at {stored.get(m)}"
            for m, s in self.tap.acked.items()
            if stored.get(m) != s
        ]
        heads = [s.head for s in self.samples if s.head is not None]
        return {
            "stored": state["messages"],
            "first_seq": state["first_seq"],
            "last_seq": state["last_seq"],
            "read": count,
            "acknowledged_seen": len(self.tap.acked),
            "acknowledged_missing": len(lost),
            "missing_examples": lost[:5],
            "stored_without_seen_ack": len(set(stored) - set(self.tap.acked)),
            "acks_without_seen_publish": self.tap.unjoined,
            "ack_contradictions": len(self.tap.contradictions),
            "msg_ids_twice": len(twice),
            "twice_examples": twice[:5],
            "head_went_back": any(b < a for a, b in itertools.pairwise(heads)),
        }

    async def verify(self) -> dict[str, Any]:
        args = [*self.nats_args(self.root / "services"), "--nats-creds", str(self.auth.creds_path("admin"))]
        proc = await asyncio.create_subprocess_exec(
            *lifeline_command([sys.executable, "-m", "hiscrm", "projections", "verify", *args]),
            cwd=REPO_ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        out, _ = await asyncio.wait_for(proc.communicate(), 600)
        status = await asyncio.to_thread(status_of, self.root / "services" / "read-models", 0)
        output = out.decode(errors="replace").strip()[-300:]
        return {"exit_code": proc.returncode, "output": output, "dead_letters": status["dead_letters"]}

    # ------------------------------------------------------------------ the report

    def crawling(self) -> dict[str, Any]:
        gaps: list[float] = []
        durations: list[float] = []
        passes = 0
        for account in self.uids:
            run = self.tally.passes_since(account, self.run_started_ms)
            passes += len(run)
            durations += [p.duration_ms / 1000 for p in run]
            gaps += [(b.started_ms - a.started_ms) / 1000 for a, b in itertools.pairwise(run)]
        minutes = self.plan.minutes
        return {
            "passes": passes,
            "passes_per_account_per_min": round(passes / len(self.uids) / minutes, 2) if self.uids else None,
            "interval_s": self.plan.interval_s,
            "gap_p50_s": pct(gaps, 0.5),
            "gap_p95_s": pct(gaps, 0.95),
            "gap_max_s": max(gaps, default=None),
            "pass_p50_s": pct(durations, 0.5),
            "pass_p95_s": pct(durations, 0.95),
        }


def memory(samples: list[Sample], workers: list[str]) -> dict[str, Any]:
    """Per worker: PSS averaged over the first and last third of the run, and of its steady stretch.

    Holding more accounts takes more memory (a browser context each), and the survivors of the kill
    take the victim's: flatness is judged over the trailing stretch in which the worker held the same
    number of accounts, and only when that stretch is long enough to say something.
    """
    out: dict[str, Any] = {}
    for worker in workers:
        series = [(s.pss_mb[worker], s.held.get(worker, 0)) for s in samples if worker in s.pss_mb]
        if len(series) < 3:
            continue
        first, last, growth = thirds([mb for mb, _ in series])
        figures: dict[str, Any] = {"first_third_mb": first, "last_third_mb": last, "growth_pct": growth}
        figures["peak_mb"] = max(mb for mb, _ in series)
        held = series[-1][1]
        steady = list(itertools.takewhile(lambda point, n=held: point[1] == n, reversed(series)))[::-1]
        figures |= {"steady_accounts": held, "steady_samples": len(steady)}
        if len(steady) >= STEADY_MIN_SAMPLES:
            s_first, s_last, s_growth = thirds([mb for mb, _ in steady])
            figures |= {"steady_first_mb": s_first, "steady_last_mb": s_last, "steady_growth_pct": s_growth}
        out[worker] = figures
    return out


def _round(figures: dict[str, Any]) -> dict[str, Any]:
    return {k: round(v, 2) if isinstance(v, float) else v for k, v in figures.items()}


async def soak(plan: Plan, root: Path) -> dict[str, Any]:
    s = Soak(plan, root)
    report: dict[str, Any] = {"plan": asdict(plan)}
    setup_started = time.monotonic()
    report["load_before"] = [round(x, 2) for x in os.getloadavg()]
    try:
        await s.start()
        await s.create_accounts()
        await s.log_in_all()
        report["setup"] = {
            "seconds": round(time.monotonic() - setup_started, 1),
            "logins_ok": len(s.login_s),
            "login_p50_s": pct(s.login_s, 0.5),
            "login_max_s": max(s.login_s, default=None),
            "login_failures": s.login_failures,
        }
        await s.run_phase()
        report["load_end_of_run"] = [round(x, 2) for x in os.getloadavg()]
        report["end"] = await s.quiesce()
        report["faults"] = [asdict(f) for f in s.faults]
        report["crawling"] = _round(s.crawling())
        report["memory"] = memory(s.samples, plan.worker_ids)
        report["facts_by_kind"] = dict(sorted(s.tally.kinds.items()))
        report["unexpected_exits"] = {n: code for n, code in s.children.exited().items() if n not in s.killed}
        report["wind_down"] = await s.wind_down()
        report["stream"] = await s.audit()
        report["verify"] = await s.verify()
        report["samples"] = [asdict(x) for x in s.samples]
    finally:
        await s.tally.close()
        for nc in s.connections:
            with contextlib.suppress(Exception):
                await nc.close()
        await s.children.stop_all()
        await s.cluster.stop()
    report["checks"] = checks(report, plan)
    report["ok"] = all(report["checks"].values())
    return report


def checks(r: dict[str, Any], plan: Plan) -> dict[str, bool]:
    stream, faults, end = r["stream"], r["faults"], r["end"]
    growths = [m["steady_growth_pct"] for m in r["memory"].values() if m.get("steady_growth_pct") is not None]
    crawl = r["crawling"]
    return {
        "all_logged_in": r["setup"]["logins_ok"] == plan.accounts,
        "no_acknowledged_fact_lost": stream["acknowledged_missing"] == 0 and stream["ack_contradictions"] == 0,
        "stored_equals_acknowledged": stream["stored"] == stream["acknowledged_seen"] == stream["read"],
        "no_msg_id_twice": stream["msg_ids_twice"] == 0,
        "no_hole_in_stream": stream["first_seq"] == 1 and stream["last_seq"] == stream["stored"],
        "head_never_went_back": not stream["head_went_back"],
        "models_equal_rebuild": r["verify"]["exit_code"] == 0 and r["verify"]["dead_letters"] == 0,
        "lag_zero_at_end": r["wind_down"]["lag_zero_after_s"] is not None,
        "lag_recovered_after_each_fault": len(faults) == 2
        and all(f["figures"].get("lag_recovered_s") is not None for f in faults),
        "accounts_moved_off_killed_worker": all(
            f["figures"].get("all_reassigned_s") is not None and f["figures"].get("crawling_resumed_s") is not None
            for f in faults
            if f["what"].startswith("worker")
        ),
        "accounts_all_on_live_workers": end["accounts_on_live_workers"] == plan.accounts
        and end["config_keys_on_live_workers"] == end["config_keys"] == plan.accounts,
        "memory_flat": bool(growths) and all(g <= MEMORY_GROWTH_LIMIT_PCT for g in growths),
        "crawl_keeps_up": crawl["gap_p50_s"] is not None and crawl["gap_p50_s"] <= KEEPS_UP_FACTOR * plan.interval_s,
        "no_service_died": not r["unexpected_exits"]
        and all(code == 0 for code in r["wind_down"]["exit_codes"].values()),
    }


def parse(argv: list[str] | None = None) -> tuple[Plan, bool]:
    p = argparse.ArgumentParser(prog="python -m hiscrm.bench.soak", description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=10.0, help="the run phase, after logins (default 10)")
    p.add_argument("--accounts", type=int, default=50)
    p.add_argument("--workers", type=int, default=3)
    p.add_argument(
        "--max-accounts",
        type=int,
        default=None,
        help="per worker; default: enough for the survivors to hold every account after the kill",
    )
    p.add_argument("--interval", type=int, default=30, help="monitor_interval of every account, s (default 30)")
    p.add_argument("--comments-per-minute", type=float, default=2.0, help="sandbox traffic per account")
    p.add_argument("--messages-per-minute", type=float, default=1.0, help="sandbox traffic per account")
    p.add_argument("--login-batch", type=int, default=5, help="logins at once")
    p.add_argument("--parallel", type=int, default=2, help="crawl passes at once per worker (hiscrm worker)")
    p.add_argument("--keep", action="store_true", help="keep the run directory (logs, stores) afterwards")
    a = p.parse_args(argv)
    if a.workers < 2:
        p.error("--workers must be at least 2: one is killed and its accounts must move")
    survivors = a.workers - 1
    max_accounts = a.max_accounts or max(20, math.ceil(a.accounts / survivors))
    plan = Plan(
        minutes=a.minutes,
        accounts=a.accounts,
        workers=a.workers,
        max_accounts=max_accounts,
        interval_s=a.interval,
        comments_per_minute=a.comments_per_minute,
        messages_per_minute=a.messages_per_minute,
        login_batch=a.login_batch,
        parallel=a.parallel,
    )
    return plan, a.keep


def main(argv: list[str] | None = None) -> int:
    plan, keep = parse(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("nats").setLevel(logging.CRITICAL)  # a restarted node makes every client say so
    root = Path(tempfile.mkdtemp(prefix="hiscrm-soak-"))
    log.info("run directory %s", root)

    async def run() -> dict[str, Any]:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        return await soak(plan, root)

    ok = False
    try:
        report = asyncio.run(run())
        ok = report["ok"]
        print(json.dumps(report, ensure_ascii=False))
    finally:
        if keep or not ok:
            log.info("run directory kept: %s", root)
        else:
            shutil.rmtree(root, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
