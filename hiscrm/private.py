"""Everything HisCRM writes is its user's alone: directories 0700, files 0600, whatever the umask.

The data dir holds the admin token, live session cookies, every DM in the read models and the logs,
so one world-readable file there hands another local user the accounts. Every writer goes through
here: a directory is made (or tightened) with `private_dir`, a file written with `write_private`,
`create_private` or opened with `open_private`. `keep_private` sets the process umask to 077 at the
command's start, so what others write on our behalf (nats-server's store, LMDB, Chromium's
profiles, child processes) is private too.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from hiscrm.errors import HiscrmError

DIR_MODE = 0o700
FILE_MODE = 0o600
UMASK = 0o077


def keep_private() -> None:
    """Files this process and its children create get no group or other bits, whatever umask it inherited."""
    os.umask(UMASK)


def private_dir(path: Path) -> Path:
    """`path` made if missing (with its parents) and set to 0700; an existing one that others may enter is
    tightened, unless it is not ours (a shared directory like /tmp is never a data dir)."""
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    info = path.stat()
    if stat.S_IMODE(info.st_mode) != DIR_MODE:
        if info.st_uid != os.geteuid():
            raise HiscrmError(f"{path} belongs to another user; choose a directory of your own for HisCRM's data")
        os.chmod(path, DIR_MODE)
    return path


def open_private(path: Path, flags: int = os.O_WRONLY | os.O_CREAT | os.O_APPEND) -> int:
    """A descriptor on `path` (created 0600, and set to 0600 if it existed with other bits); the caller closes it."""
    private_dir(path.parent)
    fd = os.open(path, flags, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
    except BaseException:
        os.close(fd)
        raise
    return fd


def write_private(path: Path, data: bytes) -> int:
    """Replace `path` with `data` atomically (a reader sees the old file or the new one); returns the size."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = open_private(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
    return len(data)


def create_private(path: Path, data: bytes) -> bool:
    """Write `data` to `path` only if it does not exist yet (first-run keys and tokens); False if it did."""
    try:
        fd = open_private(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    except FileExistsError:
        return False
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return True
