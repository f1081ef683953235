"""`hiscrm tokens add|list|revoke`: API tokens by role and account scope; the secret is printed once."""

from __future__ import annotations

import argparse
import datetime as dt
import json

import msgspec

from hiscrm.api.auth import ROLES, Tokens
from hiscrm.cli.runtime import SubParsers, command, group, settings


def register(sub: SubParsers) -> None:
    verbs = group(sub, "tokens", "API tokens: add one (its secret is shown once), list them, revoke one")
    p = command(verbs, "add", "add a token and print its secret (only a hash is kept)")
    p.add_argument("--role", required=True, choices=ROLES, help="admin: everything; im: the IM API and the workspace")
    p.add_argument(
        "--account", action="append", default=None, metavar="A", help="limit an im token to this account (repeat)"
    )
    p.add_argument("--name", default=None, help="who or what uses it (shown in lists and on replies it sends)")
    p.add_argument("--json", action="store_true", help="print {id, role, name, accounts, token} as JSON")
    p.set_defaults(func=run_add)
    p = command(verbs, "list", "every token: id, role, name, accounts, created (never the secrets)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run_list)
    p = command(verbs, "revoke", "revoke a token: refused from the next request on, its live feeds closed")
    p.add_argument("id", help="the token's id (tk-…), as `hiscrm tokens list` shows it")
    p.set_defaults(func=run_revoke)


def _tokens(args: argparse.Namespace) -> Tokens:
    return Tokens.load_or_create(settings(args).data_dir)


def run_add(args: argparse.Namespace) -> int:
    issued = _tokens(args).add(args.role, args.account, args.name)
    t = issued.token
    if args.json:
        print(json.dumps({"id": t.id, "role": t.role, "name": t.name, "accounts": t.accounts, "token": issued.secret}))
        return 0
    scope = ", ".join(t.accounts) if t.accounts else "every account"
    print(f"token {t.id} ({t.role}, {t.name}, {scope})")
    print(issued.secret)
    print("This is the only time the secret is shown; keep it somewhere safe.")
    return 0


def run_list(args: argparse.Namespace) -> int:
    tokens = _tokens(args).list()
    if args.json:
        print(
            msgspec.json.encode(
                [{k: v for k, v in msgspec.to_builtins(t).items() if k != "hash"} for t in tokens]
            ).decode()
        )
        return 0
    print(f"{'id':<12} {'role':<6} {'created':<17} {'name':<20} accounts")
    for t in tokens:
        created = dt.datetime.fromtimestamp(t.created_at / 1000).strftime("%Y-%m-%d %H:%M") if t.created_at else "-"
        print(f"{t.id:<12} {t.role:<6} {created:<17} {t.name:<20} {', '.join(t.accounts) if t.accounts else 'all'}")
    return 0


def run_revoke(args: argparse.Namespace) -> int:
    gone = _tokens(args).revoke(args.id)
    print(f"revoked {gone.id} ({gone.role}, {gone.name}); a running API refuses it from the next request")
    return 0
