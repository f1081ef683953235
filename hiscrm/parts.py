"""Running a service's concurrent parts: all of them until `stop`, and none of them alone."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Coroutine, Mapping
from typing import Any, TypeVar

log = logging.getLogger(__name__)

PATIENCE_S = 2.0

T = TypeVar("T")


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
        await cancel_and_wait(stopper, *tasks)


async def cancel_and_wait(*tasks: asyncio.Future[Any] | None) -> None:
    """Cancel the tasks (None ones skipped) and return once every one has ended.

    Python 3.11's asyncio.wait_for, under every nats-py request, drops a cancellation that lands in
    the same loop turn as the answer it was waiting for (python/cpython#86296, fixed in 3.12), and
    the task runs on as if never cancelled. One still running after PATIENCE_S is cancelled again.
    An exception a task ends with while being cancelled is logged, not raised: the caller is leaving.
    """
    pending = {task for task in tasks if task is not None}
    while pending:
        for task in pending:
            task.cancel()
        done, pending = await asyncio.wait(pending, timeout=PATIENCE_S)
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                log.warning("%s failed while stopping", task, exc_info=task.exception())


async def until_stopped(work: Awaitable[T], stop: asyncio.Event) -> T | None:
    """Run `work` until it finishes or `stop` is set, whichever comes first."""
    task = asyncio.ensure_future(work)
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
    if task.done():
        return task.result()
    await cancel_and_wait(task)
    return None
