"""`hiscrm auth`: the broker's users, one per role and one per worker, with least-privilege permissions."""

from __future__ import annotations

import argparse

from hiscrm.cli.runtime import SubParsers, command, settings
from hiscrm.store.auth import PID_FILE_NAME, ensure_auth, reload_broker


def register(sub: SubParsers) -> None:
    parser = command(
        sub, "auth", "write the nats-server users include and each role's credentials under <data-dir>/auth/"
    )
    parser.add_argument("--worker", action="append", default=[], metavar="ID", help="add a worker's user (repeat)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    s = settings(args)
    setup = ensure_auth(s.data_dir, args.worker)
    print(f'include      {setup.include}   (in nats-server.conf: include "<path relative to it>")')
    for user in sorted(setup.users):
        print(f"{user:<12} HISCRM_NATS_CREDS={setup.creds_path(user)}")
    if reload_broker(s.data_dir.resolve() / "nats" / PID_FILE_NAME):
        print("the embedded broker reloaded its users")
    return 0
