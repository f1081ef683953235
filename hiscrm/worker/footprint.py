"""How much memory a worker uses: its own process and every descendant (Playwright's driver, Chromium).

Proportional set size (PSS), so pages Chromium's processes share are counted once in all, not once
per process as resident sizes would. Linux only (`/proc`); elsewhere the answer is None.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def _pss_kb(pid: int) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


def descendants(root: int) -> list[int]:
    """`root` and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                ppid = int(Path(f"/proc/{entry.name}/stat").read_text().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry.name))
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, ()))
    return found


def memory_bytes(root: int | None = None) -> int | None:
    """PSS of the process tree under `root` (default this process), in bytes. Blocking: run it in a thread."""
    if not Path("/proc/self/smaps_rollup").exists():
        return None
    return sum(_pss_kb(pid) for pid in descendants(root or os.getpid())) * 1024
