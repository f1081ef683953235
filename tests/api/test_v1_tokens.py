"""Tokens as a product feature: `hiscrm tokens` and /api/v1/tokens, hashes only, revocation on the next request."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from hiscrm.api.auth import Tokens
from hiscrm.api.errors import ApiError
from hiscrm.api.services import Services
from hiscrm.facts import catalogue as c
from tests.api.api_client import Api
from tests.api_im.live_server import live_stack


def hiscrm(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hiscrm", "tokens", *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_add_list_revoke_keeps_only_hashes(tmp_path: Path) -> None:
    data = tmp_path / "var"
    added = hiscrm(data, "add", "--role", "im", "--account", "shop1", "--name", "agent 1", "--json")
    assert added.returncode == 0, added.stderr
    made = json.loads(added.stdout)
    assert made["role"] == "im" and made["accounts"] == ["shop1"] and made["token"].startswith("hcrm_")
    stored = (data / "tokens.json").read_text()
    assert made["token"] not in stored and made["id"] in stored
    assert stat.S_IMODE((data / "tokens.json").stat().st_mode) == 0o600
    assert stat.S_IMODE((data / "admin.token").stat().st_mode) == 0o600
    listed = hiscrm(data, "list")
    assert made["id"] in listed.stdout and "agent 1" in listed.stdout and made["token"] not in listed.stdout
    assert hiscrm(data, "revoke", made["id"]).returncode == 0
    assert made["id"] not in hiscrm(data, "list").stdout
    # Mistakes are told plainly, without a traceback.
    for args, words in [
        (("revoke", "tk-nothing"), "no token 'tk-nothing'"),
        (("add", "--role", "admin", "--account", "shop1"), "admin token sees every account"),
        (("add", "--role", "im", "--account", "bad.id"), "'bad.id' contains a dot"),
    ]:
        failed = hiscrm(data, *args)
        assert failed.returncode == 2 and words in failed.stderr and "Traceback" not in failed.stderr, failed.stderr
    only_admin = next(t for t in Tokens(data / "tokens.json").list() if t.role == "admin")
    assert "last admin token" in hiscrm(data, "revoke", only_admin.id).stderr


def test_secrets_in_clear_from_before_are_hashed_on_first_read(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    path.write_text(json.dumps({"tokens": [{"token": "old-secret", "role": "admin", "name": "admin"}]}))
    tokens = Tokens(path)
    assert tokens.authenticate("Bearer old-secret").role == "admin"
    assert "old-secret" not in path.read_text()


def test_a_change_to_the_file_counts_from_the_next_authentication(tmp_path: Path) -> None:
    api = Tokens.load_or_create(tmp_path)
    cli = Tokens(tmp_path / "tokens.json")
    issued = cli.add("im")  # the file replaced
    assert api.authenticate(f"Bearer {issued.secret}").id == issued.token.id
    cli.revoke(issued.token.id)
    with pytest.raises(ApiError, match="revoked"):
        api.authenticate(f"Bearer {issued.secret}")
    # Edited in place, as by hand: the same file, shorter (an mtime alone may not move within a clock tick).
    again = cli.add("im")
    api.authenticate(f"Bearer {again.secret}")
    with open(tmp_path / "tokens.json", "r+b") as f:
        text = f.read().replace(again.token.hash.encode(), b"0")
        f.seek(0)
        f.write(text)
        f.truncate()
    with pytest.raises(ApiError, match="revoked"):
        api.authenticate(f"Bearer {again.secret}")


async def test_api_adds_lists_and_revokes_and_sees_the_cli_on_the_next_request(api: Api, tmp_path: Path) -> None:
    made = await api.ok("POST", "/api/v1/tokens", 201, json={"role": "im", "name": "desk 2", "accounts": ["shop1"]})
    secret = made.pop("token")
    assert (await api.call("GET", "/api/im/accounts", token=secret)).status_code == 200
    listed = await api.ok("GET", "/api/v1/tokens")
    assert made in listed and all("token" not in t and "hash" not in t for t in listed)
    me = (await api.call("GET", "/api/v1/tokens/current", token=secret)).json()["data"]
    assert me["role"] == "im" and me["accounts"] == ["shop1"]
    # An im token has the workspace, not the admin API.
    assert "role 'im'" in await api.fails("GET", "/api/v1/tokens", 403, token=secret)
    assert "role 'im'" in await api.fails("GET", "/api/v1/status", 403, token=secret)
    assert "role" in await api.fails("POST", "/api/v1/tokens", 400, json={"role": "root"})
    assert "admin token sees every account" in await api.fails(
        "POST", "/api/v1/tokens", 400, json={"role": "admin", "accounts": ["shop1"]}
    )
    assert "'tk-none'" in await api.fails("DELETE", "/api/v1/tokens/tk-none", 404)

    # Another process (the CLI) changes the same file: the API sees it on the very next request.
    cli = Tokens(api.services.settings.data_dir / "tokens.json")
    other = cli.add("im", name="from the cli")
    assert (await api.call("GET", "/api/im/accounts", token=other.secret)).status_code == 200
    cli.revoke(other.token.id)
    assert "revoked" in (await api.call("GET", "/api/im/accounts", token=other.secret)).json()["status_msg"]
    await api.ok("DELETE", f"/api/v1/tokens/{made['id']}")
    assert (await api.call("GET", "/api/im/accounts", token=secret)).status_code == 401


async def _seed_account(services: Services) -> None:
    await services.store.append(c.AccountCreated(account_id="shop1", platform="douyin", account_name="Shop"))
    assert await services.models.wait_for(1, 10)


def test_revoking_a_token_ends_its_open_live_feed(tmp_path: Path) -> None:
    with live_stack(tmp_path, _seed_account) as live, httpx.Client(base_url=live.url, timeout=10) as client:
        cli = Tokens(live.services.settings.data_dir / "tokens.json")
        doomed, kept = cli.add("im", accounts=["shop1"]), cli.add("im", accounts=["shop1"])
        with (
            client.stream("GET", "/api/im/events?heartbeat_s=0.2", headers={"Authorization": f"Bearer {doomed.secret}"})
            as gone,
            client.stream("GET", "/api/im/events?heartbeat_s=0.2", headers={"Authorization": f"Bearer {kept.secret}"})
            as stays,
        ):  # fmt: skip
            assert gone.status_code == stays.status_code == 200
            cli.revoke(doomed.token.id)  # as `hiscrm tokens revoke` does, from outside the API process
            ended = time.monotonic()
            for _ in gone.iter_lines():
                assert time.monotonic() - ended < 10, "the revoked token's feed is still open"
            # The other token's feed goes on: it still gets keep-alives.
            lines = stays.iter_lines()
            assert any(line.startswith(": keep-alive") for line, _ in zip(lines, range(5), strict=False))
