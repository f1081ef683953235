"""ops/runbook.md as the tests read it: its `nats` and `curl` recipes, its `export` lines, its placeholders.

A recipe is a line of an indented code block whose first word is `nats` or `curl`; what follows two
spaces and `#` is the runbook's comment on it, not part of the command.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from hiscrm.config import REPO_ROOT

RUNBOOK = REPO_ROOT / "ops" / "runbook.md"
CLUSTER_SECTIONS = ("A cluster",)
RUN_WORDS = ("nats", "curl")
PLACEHOLDERS = ("ACCOUNT", "WORKER", "SEQ")
# Paths and addresses as the runbook writes them for a real machine.
DATA_DIR = "/var/lib/hiscrm"
BACKUPS = "/backups"
MONITOR = "127.0.0.1:8222"

_COMMENT = re.compile(r"\s{2,}#")


@dataclass(frozen=True)
class Recipe:
    section: str
    command: str  # as the runbook writes it, placeholders and all

    @property
    def on_cluster(self) -> bool:
        return self.section in CLUSTER_SECTIONS


def _code_lines(text: str) -> list[tuple[str, str]]:
    """(section, line) for every line of an indented code block, comment removed."""
    section, out = "", []
    for raw in text.splitlines():
        if raw.startswith("## "):
            section = raw[3:].strip()
        elif raw.startswith("    ") and raw.strip():
            out.append((section, _COMMENT.split(raw[4:], maxsplit=1)[0].strip()))
    return out


def recipes(text: str | None = None) -> list[Recipe]:
    text = RUNBOOK.read_text() if text is None else text
    return [Recipe(section, line) for section, line in _code_lines(text) if line.split(" ", 1)[0] in RUN_WORDS]


def exports(text: str | None = None) -> dict[str, str]:
    """The variables the runbook has the operator export before the recipes."""
    text = RUNBOOK.read_text() if text is None else text
    found: dict[str, str] = {}
    for _, line in _code_lines(text):
        if line.startswith("export "):
            for assignment in shlex.split(line)[1:]:
                name, _, value = assignment.partition("=")
                found[name] = value
    return found


def fill(command: str, values: dict[str, str]) -> str:
    """The command with the runbook's paths, addresses and placeholder words replaced by `values`."""
    for literal in (DATA_DIR, BACKUPS, MONITOR):
        if literal in values:
            command = command.replace(literal, values[literal])
    for word in PLACEHOLDERS:
        if word in values:
            command = re.sub(rf"\b{word}\b", values[word], command)
    return command
