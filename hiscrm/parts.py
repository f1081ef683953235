"""Running a service's concurrent parts: all of them until `stop`, and none of them alone."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Mapping
from typing import Any


async def run_parts(parts: Mapping[str, Coroutine[Any, Any, None]], stop: asyncio.Event, owner: str) -> None:
    """Run every part until `stop` is set, then cancel them and wait until they are gone.

    A part is meant to run as long as its service: one that returns or raises first is a failure
    of the whole (its exception is re-raised), rather than a service left running with a piece missing.
    """
    tasks = [asyncio.create_task(coro, name=f"{owner} {name}") for name, coro in parts.items()]
    stopper = asyncio.create_task(stop.wait())
    try:
        done, _ = await asyncio.wait({stopper, *tasks}, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            if task in done:
                task.result()
                raise RuntimeError(f"{task.get_name()} ended on its own")
    finally:
        stopper.cancel()
        for task in tasks:
            task.cancel()
        await asyncio.wait(tasks)
