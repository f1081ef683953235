"""`hiscrm events tail|replay`: facts as JSON lines, each with its stream sequence."""

from __future__ import annotations

import argparse
import sys

import msgspec

from hiscrm.cli.runtime import SubParsers, command, group, nats_client, parse_time, stop_event
from hiscrm.facts.codec import Recorded, to_json_line
from hiscrm.facts.subjects import ALL_EVENTS
from hiscrm.parts import until_stopped
from hiscrm.store.reader import Undecoded, read, stream_head

_encoder = msgspec.json.Encoder()


def register(sub: SubParsers) -> None:
    verbs = group(sub, "events", "print facts from HISCRM_EVENTS as JSON lines")
    for name, help_ in (
        ("tail", "follow new facts (from now, or from --from-seq/--from-time) until Ctrl-C"),
        ("replay", "print facts from the start (or --from-seq/--from-time) up to the head or --to-seq"),
    ):
        p = command(verbs, name, help_)
        p.add_argument("--subject", default=ALL_EVENTS, help="subject filter, e.g. 'hiscrm.evt.inbox.ACCOUNT.>'")
        start = p.add_mutually_exclusive_group()
        start.add_argument("--from-seq", type=int, default=None)
        start.add_argument("--from-time", type=parse_time, default=None, help="ISO 8601, Unix time, or an age (15m)")
        p.add_argument("--to-seq", type=int, default=None)
        p.set_defaults(func=run, follow=name == "tail")


def line(item: Recorded | Undecoded) -> bytes:
    if isinstance(item, Recorded):
        return _encoder.encode(to_json_line(item))
    return _encoder.encode(
        {"seq": item.seq, "time_ms": item.time_ms, "subject": item.subject, "undecodable": item.reason}
    )


async def run(args: argparse.Namespace) -> int:
    from_seq = args.from_seq
    async with nats_client(args, "hiscrm-events") as nc:
        if args.follow and from_seq is None and args.from_time is None:
            from_seq = await stream_head(nc) + 1
        out = sys.stdout.buffer

        async def copy() -> None:
            async for item in read(
                nc,
                subject=args.subject,
                from_seq=from_seq,
                from_time=args.from_time,
                to_seq=args.to_seq,
                follow=args.follow,
            ):
                out.write(line(item) + b"\n")
                out.flush()

        await until_stopped(copy(), stop_event())
    return 0
