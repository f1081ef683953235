"""scripts/venv.py: which interpreter `make bootstrap` makes the venv from, and when it makes the venv again."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "venv.py"
_spec = importlib.util.spec_from_file_location("hiscrm_venv_script", SCRIPT)
assert _spec is not None and _spec.loader is not None
venv_script = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = venv_script  # dataclasses resolves the module's annotations through sys.modules
_spec.loader.exec_module(venv_script)
Build = venv_script.Build


def test_probe_describes_the_interpreter_it_runs() -> None:
    build = venv_script.probe(sys.executable)
    assert build is not None
    assert build.executable == os.path.realpath(sys.executable)
    assert build.version == tuple(sys.version_info[:2])
    assert build.pgo == ("--enable-optimizations" in (sysconfig.get_config_var("CONFIG_ARGS") or ""))
    assert build.debian == ("deb_system" in sysconfig.get_scheme_names())
    assert build.ensurepip


def test_probe_of_no_interpreter_is_none(tmp_path: Path) -> None:
    assert venv_script.probe(str(tmp_path / "python3")) is None
    not_python = tmp_path / "false"
    not_python.write_text("#!/bin/sh\nexit 1\n")
    not_python.chmod(0o700)
    assert venv_script.probe(str(not_python)) is None


builds = st.builds(
    Build,
    executable=st.sampled_from(["/a/python3.11", "/b/python3.12", "/c/python3.10", "/d/python3.13"]),
    version=st.tuples(st.just(3), st.integers(9, 13)),
    ensurepip=st.booleans(),
    pgo=st.booleans(),
    debian=st.booleans(),
)


@given(st.lists(builds, max_size=4, unique_by=lambda b: b.executable), st.integers(0, 4))
def test_preferred_is_the_fit_builds_optimised_first_in_order(distinct: list[Build], again: int) -> None:
    # `python3` and /usr/bin/python3 may be one interpreter: it is offered once.
    found = distinct + distinct[:again]
    chosen = venv_script.preferred(found, (3, 11))
    fit = [b for b in distinct if b.version >= (3, 11) and b.ensurepip]
    assert chosen == [b for b in fit if b.optimised] + [b for b in fit if not b.optimised]


def test_minimum_version_is_read_from_pyproject(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nrequires-python = ">=3.12"\n')
    assert venv_script.minimum_version(pyproject) == (3, 12)


def test_a_venv_made_from_another_interpreter_is_made_again(tmp_path: Path) -> None:
    base = venv_script.probe(sys.executable)
    venv = tmp_path / "venv"
    # Without pip, to be quick: make_venv looks only at the interpreter the venv was made from.
    subprocess.run([base.executable, "-m", "venv", "--without-pip", venv], check=True)
    assert venv_script.base_of(venv) == base.executable
    kept = venv / "kept"
    kept.touch()
    venv_script.make_venv(venv, base)
    assert kept.exists(), "a venv made from the chosen interpreter is kept"

    config = venv / "pyvenv.cfg"
    config.write_text(config.read_text().replace(base.executable, "/elsewhere/bin/python3.11"))
    assert venv_script.base_of(venv) == "/elsewhere/bin/python3.11"
    venv_script.make_venv(venv, base)
    assert not kept.exists(), "a venv made from another interpreter is made again"
    assert venv_script.base_of(venv) == base.executable
    ran = subprocess.run([venv / "bin" / "python", "-m", "pip", "--version"], capture_output=True)
    assert ran.returncode == 0 and str(venv) in ran.stdout.decode()


def test_a_python_that_does_not_run_is_refused_without_a_traceback(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, SCRIPT, "--venv", tmp_path / "venv", "--python", str(tmp_path / "nothing")],
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0
    assert f"PYTHON={tmp_path / 'nothing'} is not an interpreter that runs" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "venv").exists()
