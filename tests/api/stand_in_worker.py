"""A stand-in for `hiscrm worker` in the supervisor tests: a long-running command that prints lines
and exits on SIGTERM. With --ignore-term it ignores SIGTERM, as a hung worker would."""

from __future__ import annotations

import argparse
import signal
import time

parser = argparse.ArgumentParser()
parser.add_argument("--id", required=True)
parser.add_argument("--platforms", required=True)
parser.add_argument("--max-accounts", type=int, required=True)
parser.add_argument("--ignore-term", action="store_true")
parser.add_argument("--exit-after", type=float, default=None, help="exit with code 3 after this many seconds")
args = parser.parse_args()

stopping = False


def on_term(signum: int, frame: object) -> None:
    global stopping
    stopping = True


signal.signal(signal.SIGTERM, signal.SIG_IGN if args.ignore_term else on_term)
print(f"stand-in worker {args.id} platforms={args.platforms} max_accounts={args.max_accounts}")
tick = 0
began = time.monotonic()
while not stopping:
    if args.exit_after is not None and time.monotonic() - began >= args.exit_after:
        raise SystemExit(3)
    print(f"tick {tick}")
    tick += 1
    time.sleep(0.05)
print("stopping on SIGTERM")
