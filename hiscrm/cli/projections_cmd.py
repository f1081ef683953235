"""`hiscrm projections rebuild|status|verify`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from hiscrm.cli.runtime import SubParsers, command, group, nats_client, parse_time, settings
from hiscrm.projector.rebuild import rebuild, verify
from hiscrm.projector.storage import Generations, ModelEnv, model_versions
from hiscrm.store.reader import stream_head
from projections import MODELS


def register(sub: SubParsers) -> None:
    verbs = group(sub, "projections", "rebuild, inspect or verify the LMDB read models")
    p = command(verbs, "rebuild", "replay the stream into fresh read models, then swap them in atomically")
    until = p.add_mutually_exclusive_group()
    until.add_argument("--until-seq", type=int, default=None)
    until.add_argument("--until-time", type=parse_time, default=None)
    p.add_argument("--into", type=Path, default=None, help="leave the models in DIR instead of swapping them in")
    p.set_defaults(func=run_rebuild)
    p = command(verbs, "status", "checkpoint, stream head, lag and dead letters")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run_status)
    p = command(verbs, "verify", "rebuild aside and compare with the live models; exit 1 on any difference")
    p.set_defaults(func=run_verify)


async def run_rebuild(args: argparse.Namespace) -> int:
    gens = Generations(settings(args).read_models_dir)
    async with nats_client(args, "hiscrm-rebuild") as nc:
        with Progress(
            TextColumn("rebuilding"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), transient=True
        ) as bar:
            task = bar.add_task("facts", total=None)
            done = await rebuild(
                nc,
                gens,
                MODELS,
                into=args.into,
                until_seq=args.until_seq,
                until_time=args.until_time,
                progress=lambda seq, total: bar.update(task, completed=seq, total=total),
            )
    where = "swapped in as the live models" if done.swapped else "left aside"
    print(f"rebuilt {done.facts} facts up to sequence {done.checkpoint} into {done.path}, {where}")
    return 0


def status_of(root: Path, head: int) -> dict[str, object]:
    gens = Generations(root)
    path = gens.current()
    if path is None or not path.exists():
        return {"path": None, "checkpoint": 0, "stream_head": head, "lag": head, "dead_letters": 0, "models": {}}
    env = ModelEnv(path, MODELS, readonly=True)
    try:
        checkpoint = env.checkpoint()
        return {
            "path": str(path),
            "checkpoint": checkpoint,
            "stream_head": head,
            "lag": max(0, head - checkpoint),
            "dead_letters": env.dead_letter_count(),
            "recent_dead_letters": [
                {"seq": d.seq, "subject": d.subject, "reason": d.reason} for d in env.dead_letters(limit=10)
            ],
            "models": env.stored_versions() or {},
            "models_current": env.stored_versions() == model_versions(MODELS),
        }
    finally:
        env.close()


async def run_status(args: argparse.Namespace) -> int:
    async with nats_client(args, "hiscrm-projections") as nc:
        head = await stream_head(nc)
    report = status_of(settings(args).read_models_dir, head)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"read models  {report['path'] or '(none yet)'}")
        print(f"checkpoint   {report['checkpoint']}")
        print(f"stream head  {report['stream_head']}")
        print(f"lag          {report['lag']}")
        print(f"dead letters {report['dead_letters']}")
        for d in report.get("recent_dead_letters", []):  # type: ignore[union-attr]
            print(f"  seq {d['seq']} {d['subject']}: {d['reason']}")
    return 0


async def run_verify(args: argparse.Namespace) -> int:
    gens = Generations(settings(args).read_models_dir)
    async with nats_client(args, "hiscrm-verify") as nc:
        checkpoint, difference = await verify(nc, gens, MODELS)
    if difference is None:
        print(f"read models match a clean rebuild up to sequence {checkpoint}")
        return 0
    print(f"read models differ from a clean rebuild up to sequence {checkpoint}: {difference}")
    return 1
