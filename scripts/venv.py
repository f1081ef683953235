"""`make bootstrap`'s venv: built from the fastest fit interpreter on the machine, rebuilt when that changes.

The API, the projector and the workers are pure Python on their hot paths, so how the interpreter itself was
compiled shows in every figure: on the 2-core bench machine pyenv's 3.11.7 (-O3, shared libpython, no PGO or
LTO) spent 1.2-1.7x the CPU of Debian's 3.11.2 (PGO+LTO) on the same work under load, a median 1.1-1.3x
when quiet (README, "Set-up").

The interpreter: PYTHON when given (`make PYTHON=...`). Else, of `python3` on PATH and the distribution's
/usr/bin/python3, those that meet requires-python and can make a venv with pip (Debian ships ensurepip apart,
in python3.X-venv) are fit, and the first optimised one is taken, or the first fit one when none is.
Optimised means profile-guided: configured with CPython's --enable-optimizations (the official Docker images;
pyenv given PYTHON_CONFIGURE_OPTS=--enable-optimizations), or Debian's and Ubuntu's own package, which their
rules build with PGO and LTO while keeping those flags out of sysconfig (Debian #934771), recognised by the
deb_system install scheme Debian adds.

pyvenv.cfg records the interpreter a venv was made from; a venv made from another one (an older checkout's,
or PYTHON given or dropped) is removed and made again, so CI's kept checkout follows the rule too.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CANDIDATES = ("python3", "/usr/bin/python3")
STAMP = ".installed"

# Run by each candidate, isolated from the caller's environment (-I).
PROBE = """
import importlib.util, json, os, sys, sysconfig
print(json.dumps({
    "executable": os.path.realpath(sys.executable),
    "ensurepip": importlib.util.find_spec("ensurepip") is not None,
    "version": list(sys.version_info[:2]),
    "pgo": "--enable-optimizations" in (sysconfig.get_config_var("CONFIG_ARGS") or ""),
    "debian": "deb_system" in sysconfig.get_scheme_names(),
}))
"""


@dataclass(frozen=True)
class Build:
    executable: str
    version: tuple[int, int]
    ensurepip: bool
    pgo: bool
    debian: bool

    @property
    def optimised(self) -> bool:
        return self.pgo or self.debian

    def describe(self) -> str:
        how = "--enable-optimizations" if self.pgo else "Debian's PGO+LTO build" if self.debian else "not optimised"
        return f"{self.executable} ({self.version[0]}.{self.version[1]}, {how})"


def probe(command: str) -> Build | None:
    """The build behind `command`, or None when there is no such interpreter or it does not run."""
    path = shutil.which(command)
    if path is None:
        return None
    done = subprocess.run([path, "-I", "-c", PROBE], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return None
    found = json.loads(done.stdout)
    return Build(found["executable"], tuple(found["version"]), found["ensurepip"], found["pgo"], found["debian"])


def minimum_version(pyproject: Path) -> tuple[int, int]:
    match = re.search(r'requires-python\s*=\s*">=\s*(\d+)\.(\d+)', pyproject.read_text())
    if match is None:
        raise SystemExit(f"{pyproject} names no requires-python >= X.Y")
    return int(match[1]), int(match[2])


def preferred(builds: list[Build], minimum: tuple[int, int]) -> list[Build]:
    """The fit builds, each interpreter once, optimised ones first, otherwise in the order given."""
    fit: dict[str, Build] = {}
    for build in builds:
        if build.version >= minimum and build.ensurepip:
            fit.setdefault(build.executable, build)
    return sorted(fit.values(), key=lambda b: not b.optimised)


def base_of(venv: Path) -> str | None:
    """The interpreter the venv was made from, per its pyvenv.cfg; None when there is no usable venv."""
    try:
        config = (venv / "pyvenv.cfg").read_text()
    except FileNotFoundError:
        return None
    match = re.search(r"^executable\s*=\s*(.+)$", config, re.MULTILINE)
    return match[1].strip() if match and (venv / "bin" / "python").exists() else None


def make_venv(venv: Path, base: Build) -> None:
    """Keeps the venv when it was made from base, else makes it (again) from base."""
    made_from = base_of(venv)
    if made_from == base.executable:
        return
    if venv.exists():
        print(f"bootstrap: {venv} was made from {made_from or 'an interpreter it no longer runs on'}; making it again")
        shutil.rmtree(venv)
    print(f"bootstrap: making {venv} from {base.describe()}")
    subprocess.run([base.executable, "-m", "venv", str(venv)], check=True)


def install(venv: Path, project: Path) -> None:
    """pip install -e '.[test]' into the venv unless done since pyproject.toml last changed."""
    stamp = venv / STAMP
    if stamp.exists() and stamp.stat().st_mtime >= (project / "pyproject.toml").stat().st_mtime:
        return
    python = str(venv / "bin" / "python")
    subprocess.run([python, "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
    subprocess.run([python, "-m", "pip", "install", "--quiet", "-e", f"{project}[test]"], check=True)
    stamp.touch()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venv", type=Path, default=ROOT / ".venv")
    parser.add_argument("--python", default="", help="this interpreter and no other (make PYTHON=...)")
    args = parser.parse_args()
    if args.python:
        base = probe(args.python)
        if base is None:
            raise SystemExit(f"bootstrap: PYTHON={args.python} is not an interpreter that runs")
    else:
        minimum = minimum_version(ROOT / "pyproject.toml")
        bases = preferred([b for b in map(probe, CANDIDATES) if b is not None], minimum)
        if not bases:
            raise SystemExit(
                f"bootstrap: none of {', '.join(CANDIDATES)} is a Python {minimum[0]}.{minimum[1]}+ with ensurepip"
                " (on Debian: apt-get install python3-venv); name one with make PYTHON=..."
            )
        base = bases[0]
    make_venv(args.venv, base)
    install(args.venv, ROOT)


if __name__ == "__main__":
    main()
