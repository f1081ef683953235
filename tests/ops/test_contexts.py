"""`hiscrm auth` writes what the NATS CLI needs: the system user, and a context per user that the CLI loads."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from hiscrm.store.auth import SYSTEM_USER
from tests.conftest import hiscrm_cli
from tests.ops.conftest import Live

CLUSTER = "nats://127.0.0.1:4222,nats://127.0.0.1:4223,nats://127.0.0.1:4224"


def test_auth_writes_a_private_context_per_user_for_the_servers_it_was_given(tmp_path: Path) -> None:
    data = tmp_path / "var"
    done = hiscrm_cli("auth", "--data-dir", str(data), "--worker", "w1", "--nats-url", CLUSTER)
    assert done.returncode == 0, done.stderr
    assert "nats --context hiscrm-admin stream ls" in done.stdout
    contexts = data / "auth" / "nats" / "context"
    users = json.loads((data / "auth" / "users.json").read_text())
    assert sorted(p.stem for p in contexts.iterdir()) == sorted(f"hiscrm-{u}" for u in users)
    assert SYSTEM_USER in users
    for path in contexts.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        context = json.loads(path.read_text())
        user = path.stem.removeprefix("hiscrm-")
        assert (context["url"], context["user"], context["password"]) == (CLUSTER, user, users[user])
        # Replies under the user's own inbox prefix, the only inbox its permissions let it read.
        assert context["inbox_prefix"] == ("" if user == SYSTEM_USER else f"_INBOX.{user}")
    assert stat.S_IMODE(contexts.stat().st_mode) == 0o700
    # The system user is in the system account, not among the roles of the global account.
    conf = (data / "auth" / "auth.conf").read_text()
    authorization, _, accounts = conf.partition("accounts {")
    assert f'user: "{SYSTEM_USER}"' not in authorization and f'user: "{SYSTEM_USER}"' in accounts
    assert "$SYS" in accounts


async def test_a_context_file_named_by_its_path_needs_no_other_setting(live: Live) -> None:
    """The runbook's alternative to XDG_CONFIG_HOME: `nats --context <file>`."""
    path = live.auth.context_path("admin")
    env = {k: v for k, v in live.shell.env.items() if k not in ("XDG_CONFIG_HOME", "NATS_CONTEXT")}
    shell = type(live.shell)(live.shell.cwd, live.shell.values, env)
    out = await shell.run(f"nats --context {path} stream ls")
    assert out.returncode == 0 and "HISCRM_EVENTS" in out.text, out
    # A role's context carries that role's permissions: the worker cannot list the streams.
    worker = await shell.run(f"nats --context {live.auth.context_path('worker-w1')} stream ls")
    assert worker.returncode != 0, worker
