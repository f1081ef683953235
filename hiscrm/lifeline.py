"""`python -m hiscrm.lifeline PARENT_PID -- COMMAND...`: run COMMAND so that it dies with PARENT_PID.

Every long-lived process HisCRM starts goes through this (`command_for`): nats-server (a Go binary
it cannot change) wherever an EmbeddedBroker runs, `up`'s workers, the bench's and the soak's
processes. The kernel's parent-death signal (prctl PR_SET_PDEATHSIG) is set here, in the child, and
then this process becomes COMMAND by exec, which keeps the setting: so the child gets SIGTERM
however its parent ends, SIGKILL included, with no supervisor process left in between. Setting it
here rather than in a `preexec_fn` keeps arbitrary Python out of the window between fork and exec
in a process that runs threads.

The signal follows the death of the *thread* that forked us, not of the process: a child must be
spawned from a thread that lives as long as the child should, in HisCRM the event loop's thread
(never from `asyncio.to_thread` or an executor, whose threads end when idle or at the loop's close).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1
ORPHANED = 75  # EX_TEMPFAIL: the parent was gone before the signal was armed


def arm(parent: int, sig: int = signal.SIGTERM) -> None:
    """Ask for `sig` when our parent dies; exit at once if it already has (we were reparented)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:
        sys.exit(ORPHANED)


def main(argv: list[str]) -> None:
    if len(argv) < 3 or argv[1] != "--" or not argv[0].isdigit():
        sys.exit("usage: python -m hiscrm.lifeline PARENT_PID -- COMMAND [ARGS...]")
    arm(int(argv[0]))
    command = argv[2:]
    os.execvp(command[0], command)


def command_for(command: list[str], parent: int | None = None) -> list[str]:
    """`command` wrapped so that it dies with `parent` (this process by default).

    This file is run by path, isolated (-I) and without site (-S): it needs only the standard
    library, and the interpreter then starts in a third of the time, which every broker a test
    starts pays once."""
    return [sys.executable, "-I", "-S", __file__, str(parent or os.getpid()), "--", *command]


if __name__ == "__main__":
    main(sys.argv[1:])
