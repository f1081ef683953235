"""Issue 18: the data dir is one directory whatever its spelling: relative, absolute, with `..`, through a
symlink, for every command that takes --data-dir; and `hiscrm up` as `make run` starts it (the default
relative ./var, from the checkout) opens its read models once and reports no swap that did not happen."""

from __future__ import annotations

import argparse
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hiscrm.cli.main import build_parser
from hiscrm.config import settings_from
from tests.faults.up_process import Up, hiscrm, kill_everything


def commands_with_data_dir(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], list[str]]]:
    """Every command taking --data-dir, with a value for each argument it requires (a choice if it has some)."""
    required: list[str] = []
    takes_data_dir = False
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from commands_with_data_dir(sub, (*path, name))
        elif "--data-dir" in action.option_strings:
            takes_data_dir = True
        elif action.required or (not action.option_strings and action.nargs not in ("?", "*")):
            value = str(next(iter(action.choices))) if action.choices else "x"
            required += [action.option_strings[0], value] if action.option_strings else [value]
    if takes_data_dir:
        yield path, required


PARSER = build_parser()
TABLE = sorted(commands_with_data_dir(PARSER))
COMMANDS = [command for command, _ in TABLE]


def test_the_table_finds_the_commands() -> None:
    assert {("up",), ("worker",), ("projections", "status"), ("events", "replay"), ("backup",)} <= set(COMMANDS)


@pytest.mark.parametrize(("command", "required"), TABLE, ids=[" ".join(c) for c in COMMANDS])
@pytest.mark.parametrize("spelling", ["relative", "absolute", "dotdot", "symlink", "default", "environment"])
def test_every_spelling_of_the_data_dir_is_the_same_absolute_directory(
    command: tuple[str, ...], required: list[str], spelling: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = tmp_path / "var"
    real.mkdir()
    (tmp_path / "sub").mkdir()
    (tmp_path / "link").symlink_to(real)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HISCRM_DATA_DIR", raising=False)
    given = {"relative": "var", "absolute": str(real), "dotdot": "sub/../var", "symlink": "link"}.get(spelling)
    if spelling == "environment":
        monkeypatch.setenv("HISCRM_DATA_DIR", "./sub/../link")
    argv = [*command, *required, *(["--data-dir", given] if given else [])]
    settings = settings_from(PARSER.parse_args(argv))
    assert settings.data_dir == real.resolve()
    assert settings.read_models_dir == real.resolve() / "read-models"


@pytest.fixture
def checkout(tmp_path: Path) -> Iterator[Path]:
    """A directory to run from, as the checkout's root is for `make run`."""
    yield tmp_path
    kill_everything(tmp_path / "var")


def test_up_from_its_directory_with_the_default_data_dir_reopens_nothing_and_the_cli_agrees(checkout: Path) -> None:
    up = Up(checkout / "var", "--no-demo", "--no-worker", cwd=checkout)
    try:
        up.wait_for("Ctrl-C stops everything")
        up.wait_for("projector: ")
        # Every empty half-second wait of the projector used to end in a phantom swap and a reopen.
        time.sleep(5)
        opened = re.findall(r"projector: (\S+) from sequence", up.output)
        assert len(opened) == 1, up.output[-3000:]
        assert "swapped" not in up.output, up.output[-3000:]
        live = (checkout / "var" / "read-models" / "CURRENT").resolve()
        assert opened[0] == str(live)

        creds = ["--nats-port", str(up.ports["--nats-port"]), "--nats-creds", "var/auth/creds/admin.json"]
        spellings = [[], ["--data-dir", "var"], ["--data-dir", "./x/../var"], ["--data-dir", str(checkout / "var")]]
        for spelling in spellings:
            done = hiscrm("projections", "status", "--json", *creds, *spelling, cwd=checkout)
            assert done.returncode == 0, done.stderr
            assert json.loads(done.stdout)["path"] == str(live), spelling
        verified = hiscrm("projections", "verify", *creds, cwd=checkout)
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert up.interrupt() == 0
    finally:
        up.finish()
