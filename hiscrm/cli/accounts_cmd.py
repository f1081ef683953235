"""`hiscrm accounts ...`: the account operations an operator scripts, through the admin API.

The API is the one place that checks and records them (as facts), so the CLI is its client: `--api`
(HISCRM_API_URL, default the local API's port) and an admin token from `--token`, HISCRM_TOKEN, or
the data dir's `admin.token` that `hiscrm up` writes. Every verb prints a short line per account, or
the API's answer as JSON with `--json`; a refusal prints the API's message and exits 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from hiscrm.api.auth import ADMIN_TOKEN_FILE
from hiscrm.cli.runtime import SubParsers, command, group, settings
from hiscrm.errors import HiscrmError

PARTS = ("works", "comments", "dms", "notifications")
FINAL = ("success", "failed", "expired")
WAIT_POLL_S = 1.0


class Api:
    def __init__(self, args: argparse.Namespace) -> None:
        conf = settings(args)
        self.base = (args.api or os.environ.get("HISCRM_API_URL") or f"http://127.0.0.1:{conf.api_port}").rstrip("/")
        token = args.token or os.environ.get("HISCRM_TOKEN") or _read_token(conf.data_dir / ADMIN_TOKEN_FILE)
        self.http = httpx.Client(base_url=self.base, headers={"Authorization": f"Bearer {token}"}, timeout=30)

    def call(self, method: str, path: str, body: Any = None) -> Any:
        try:
            res = self.http.request(method, path, json=body)
        except httpx.TransportError as exc:
            raise HiscrmError(
                f"cannot reach the API at {self.base} ({exc}); is `hiscrm up` or `hiscrm api` running?"
            ) from None
        try:
            payload = res.json()
        except ValueError:
            raise HiscrmError(f"{method} {path}: HTTP {res.status_code}, not the API's JSON") from None
        if not payload.get("success"):
            raise HiscrmError(payload.get("error", {}).get("message") or f"{method} {path}: HTTP {res.status_code}")
        return payload["data"]


def _read_token(path: Path) -> str:
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        raise HiscrmError(f"no admin token: pass --token, set HISCRM_TOKEN, or run where {path} exists") from None


def _account_path(account_id: str, tail: str = "") -> str:
    return f"/api/v1/accounts/{account_id}{tail}"


def register(sub: SubParsers) -> None:
    verbs = group(sub, "accounts", "account operations through the admin API: log out, crawl now, pin, switches...")

    def verb(name: str, help_: str) -> argparse.ArgumentParser:
        p = command(verbs, name, help_)
        p.add_argument(
            "--api", default=None, help="the API's URL (HISCRM_API_URL, default http://127.0.0.1:<api port>)"
        )
        p.add_argument("--token", default=None, help="an admin token (HISCRM_TOKEN, default <data-dir>/admin.token)")
        p.add_argument("--json", action="store_true", help="print the API's answer as JSON")
        return p

    p = verb("list", "every account with its login, worker and crawl health; unhealthy ones first")
    p.add_argument(
        "--unhealthy", action="store_true", help="only accounts whose last passes failed or whose login is in trouble"
    )
    p.set_defaults(func=run_list)
    p = verb("logout", "destroy the accounts' sessions: crawling stops, the history stays")
    p.add_argument("account", nargs="+")
    p.set_defaults(func=run_logout)
    p = verb("crawl-now", "crawl the accounts now, or every logged-in account of a worker")
    p.add_argument("account", nargs="*")
    p.add_argument("--worker", default=None, help="every logged-in account this worker holds")
    p.set_defaults(func=run_crawl_now)
    p = verb("pin", "run an account only on this worker (it waits while the worker is away)")
    p.add_argument("account")
    p.add_argument("worker")
    p.set_defaults(func=run_pin)
    p = verb("unpin", "let an account run on any worker again")
    p.add_argument("account")
    p.set_defaults(func=run_pin)
    p = verb("switches", "show or set what a crawl pass reads: works, comments, dms, notifications")
    p.add_argument("account")
    for part in PARTS:
        p.add_argument(f"--{part}", choices=("on", "off"), default=None)
    p.set_defaults(func=run_switches)
    p = verb("import", "log in with cookies exported from a browser (a JSON export or a Cookie header)")
    p.add_argument("account")
    p.add_argument("file", help="the export; - reads standard input")
    p.add_argument("--domain", default=None, help="cookie domain for a Cookie header (default .douyin.com)")
    p.add_argument("--wait", action="store_true", help="wait for the worker's verdict; exit 1 if it is not a success")
    p.set_defaults(func=run_import)
    p = verb("sms-code", "pass the SMS code the platform sent to the account's phone to its login under way")
    p.add_argument("account")
    p.add_argument("code")
    p.set_defaults(func=run_sms_code)
    p = verb("passes", "the account's recent crawl passes, newest first, with the reason of each failure")
    p.add_argument("account")
    p.add_argument("--limit", type=int, default=20)
    p.set_defaults(func=run_passes)


def _print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


def _health(a: dict[str, Any]) -> str:
    h = a["health"]
    if h["consecutive_failures"]:
        return f"{h['consecutive_failures']} failed in a row: {h['last_error'] or h['last_error_kind']}"
    return "ok" if h["last_success_at"] else "no pass yet"


TROUBLED = ("expired", "blocked", "login_failed")


def _unhealthy(a: dict[str, Any]) -> bool:
    return bool(a["health"]["consecutive_failures"]) or a["login_status"] in TROUBLED


def run_list(args: argparse.Namespace) -> int:
    accounts = Api(args).call("GET", "/api/v1/accounts")
    accounts.sort(key=lambda a: (-a["health"]["consecutive_failures"], a["login_status"] not in TROUBLED))
    if args.unhealthy:
        accounts = [a for a in accounts if _unhealthy(a)]
    if args.json:
        _print_json(accounts)
        return 0
    for a in accounts:
        worker = a["assigned_worker_id"] or f"waiting ({a['waiting_reason']})"
        pinned = f" pinned to {a['pinned_worker_id']}" if a["pinned_worker_id"] else ""
        print(f"{a['id']:<24} {a['login_status']:<14} {worker}{pinned} · {_health(a)}")
    return 0


def run_logout(args: argparse.Namespace) -> int:
    api = Api(args)
    done = [api.call("POST", _account_path(a, "/logout")) for a in args.account]
    if args.json:
        _print_json(done)
    for a in [] if args.json else done:
        print(f"{a['id']}: {a['login_status']}, session destroyed")
    return 0


def run_crawl_now(args: argparse.Namespace) -> int:
    if bool(args.account) == bool(args.worker):
        raise HiscrmError("name accounts or --worker W (one of the two)")
    api = Api(args)
    if args.worker:
        answers = [api.call("POST", "/api/v1/accounts/crawl-now", {"worker_id": args.worker})]
    else:
        answers = [api.call("POST", _account_path(a, "/crawl-now")) for a in args.account]
    if args.json:
        _print_json(answers)
        return 0
    requested = [a for answer in answers for a in answer["account_ids"]]
    print(f"crawl requested for {len(requested)} account(s): {', '.join(requested) or 'none logged in'}")
    return 0


def run_pin(args: argparse.Namespace) -> int:
    worker = getattr(args, "worker", None)
    account = Api(args).call("PUT", _account_path(args.account, "/pin"), {"worker_id": worker})
    if args.json:
        _print_json(account)
    elif worker is None:
        print(f"{account['id']}: runs on any worker")
    else:
        waiting = f"; waiting: {account['waiting_reason']}" if account["waiting_reason"] else ""
        print(f"{account['id']}: pinned to {worker}{waiting}")
    return 0


def run_switches(args: argparse.Namespace) -> int:
    api = Api(args)
    wanted = {part: getattr(args, part) == "on" for part in PARTS if getattr(args, part) is not None}
    path = _account_path(args.account)
    account = api.call("PATCH", path, {"crawl": wanted}) if wanted else api.call("GET", path)
    if args.json:
        _print_json(account["crawl"])
        return 0
    print(" ".join(f"{part}={'on' if on else 'off'}" for part, on in account["crawl"].items()))
    return 0


def _read_export(file: str) -> Any:
    text = sys.stdin.read() if file == "-" else _read_file(Path(file))
    text = text.strip()
    if text.startswith("["):
        try:
            return json.loads(text)
        except ValueError as exc:
            raise HiscrmError(f"{file}: the export is not valid JSON: {exc}") from None
    return text


def _read_file(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise HiscrmError(f"cannot read {path}: {exc.strerror}") from None


def run_import(args: argparse.Namespace) -> int:
    api = Api(args)
    body: dict[str, Any] = {"cookies": _read_export(args.file)}
    if args.domain:
        body["domain"] = args.domain
    session = api.call("POST", _account_path(args.account, "/session-import"), body)
    while args.wait and session.get("status") not in FINAL:
        time.sleep(WAIT_POLL_S)
        session = api.call("GET", f"/api/v1/login-sessions/{session['id']}")
    if args.json:
        _print_json(session)
    else:
        reason = f": {session['reason']}" if session.get("reason") else ""
        print(f"{args.account}: import {session['id']} {session.get('status', 'recorded')}{reason}")
    return 0 if not args.wait or session["status"] == "success" else 1


def run_sms_code(args: argparse.Namespace) -> int:
    api = Api(args)
    login_id = api.call("GET", _account_path(args.account))["login_id"]
    if login_id is None:
        raise HiscrmError(f"account {args.account} has no login session; start one first")
    session = api.call("POST", f"/api/v1/login-sessions/{login_id}/sms-code", {"code": args.code})
    if args.json:
        _print_json(session)
    else:
        print(f"{args.account}: code passed to login {login_id} ({session.get('status', 'recorded')})")
    return 0


def run_passes(args: argparse.Namespace) -> int:
    passes = Api(args).call("GET", _account_path(args.account, f"/passes?limit={args.limit}"))
    if args.json:
        _print_json(passes)
        return 0
    for p in passes:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(p["at"] / 1000))
        if p["ok"]:
            took = p.get("duration_ms", 0) / 1000
            print(f"{when} ok     pass {p.get('pass_no')} in {took:.1f} s on {p.get('worker_id')}")
        else:
            print(f"{when} failed {p.get('kind')}: {p.get('error')} ({p.get('consecutive')} in a row)")
    return 0
