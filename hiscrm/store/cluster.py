"""Three nats-servers routed to each other on loopback, each with its own JetStream store.

The cluster tests and the soak run (hiscrm/bench/soak.py) start the same cluster, and crash a node
the same way: SIGKILL, no goodbye, as if its machine died.
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from hiscrm.store.auth import AuthSetup
from hiscrm.store.broker import EmbeddedBroker, free_port


class LoopbackCluster:
    def __init__(self, root: Path, *, auth: AuthSetup | None = None) -> None:
        ports = [(free_port(), free_port()) for _ in range(3)]
        routes = ", ".join(f'"nats://127.0.0.1:{cluster_port}"' for _, cluster_port in ports)
        self.nodes = [
            EmbeddedBroker(
                root / f"n{i + 1}",
                client_port,
                name=f"n{i + 1}",
                auth=auth,
                extra_config=(
                    f'cluster {{\n  name: "hiscrm"\n  listen: "127.0.0.1:{cluster_port}"\n  routes: [{routes}]\n}}\n'
                ),
            )
            for i, (client_port, cluster_port) in enumerate(ports)
        ]

    @property
    def urls(self) -> list[str]:
        return [node.url for node in self.nodes]

    def node(self, name: str) -> EmbeddedBroker:
        return next(n for n in self.nodes if n.name == name)

    async def start(self) -> None:
        await asyncio.gather(*(node.start(wait_s=30) for node in self.nodes))

    async def crash(self, name: str) -> None:
        """SIGKILL the node: whatever it had not replicated or acknowledged is its peers' problem now."""
        node = self.node(name)
        process, node.process = node.process, None
        if process is None or process.returncode is not None:
            return
        os.kill(process.pid, signal.SIGKILL)
        await process.wait()

    async def crash_and_restart(self, name: str, down_s: float = 2.0) -> None:
        await self.crash(name)
        await asyncio.sleep(down_s)
        await self.node(name).start(wait_s=30)

    async def stop(self) -> None:
        await asyncio.gather(*(node.stop() for node in self.nodes))
