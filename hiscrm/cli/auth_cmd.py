"""`hiscrm auth`: the broker's users (one per role, one per worker, the system user) and a NATS CLI context each."""

from __future__ import annotations

import argparse

from hiscrm.cli.runtime import SubParsers, command, settings
from hiscrm.store.auth import PID_FILE_NAME, ensure_auth, reload_broker


def register(sub: SubParsers) -> None:
    parser = command(
        sub,
        "auth",
        "write the nats-server users include, each user's credentials and NATS CLI contexts under <data-dir>/auth/",
    )
    parser.add_argument("--worker", action="append", default=[], metavar="ID", help="add a worker's user (repeat)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    s = settings(args)
    # The contexts name the servers this command was pointed at (--nats-url, else the embedded broker's port).
    setup = ensure_auth(s.data_dir, args.worker, s.servers)
    print(f'include      {setup.include}   (in nats-server.conf: include "<path relative to it>")')
    for user in sorted(setup.users):
        print(f"{user:<12} HISCRM_NATS_CREDS={setup.creds_path(user)}")
    print(f"NATS CLI     contexts for {', '.join(s.servers)} in {setup.context_path('admin').parent}:")
    example = f"nats --context {setup.context_name('admin')} stream ls"
    print(f"             export XDG_CONFIG_HOME={setup.contexts_home}; {example}")
    if reload_broker(s.data_dir.resolve() / "nats" / PID_FILE_NAME):
        print("the embedded broker reloaded its users")
    return 0
