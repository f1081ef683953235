"""`hiscrm projections rebuild|status|verify`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from hiscrm.cli.runtime import SubParsers, command, group, nats_client, parse_time, settings
from hiscrm.projector.origin import StreamNow, env_mismatch, mismatch, stream_now
from hiscrm.projector.rebuild import rebuild, verify
from hiscrm.projector.storage import Generations, ModelEnv, model_versions
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


def status_of(root: Path, head: int, now: StreamNow | None = None) -> dict[str, object]:
    """With `now`, also whether the models belong to that stream (`stream_ok`, and `stream_problem` if not)."""
    gens = Generations(root)
    path = gens.current()
    if path is None or not path.exists():
        empty: dict[str, object] = {"path": None, "checkpoint": 0, "stream_head": head, "lag": head}
        stream = {} if now is None else {"stream_ok": now.exists, "stream_problem": mismatch(None, 0, now)}
        return {**empty, "dead_letters": 0, "models": {}, **stream}
    env = ModelEnv(path, MODELS, readonly=True)
    try:
        checkpoint = env.checkpoint()
        problem = None if now is None else env_mismatch(env, now)
        return {
            "path": str(path),
            "checkpoint": checkpoint,
            **({} if now is None else {"built_from": env.built_from(), "stream_ok": problem is None}),
            **({} if problem is None else {"stream_problem": problem}),
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
    """Exit 1 when the models do not belong to the stream there (their checkpoint and lag mean nothing then)."""
    async with nats_client(args, "hiscrm-projections") as nc:
        now = await stream_now(nc)
    report = status_of(settings(args).read_models_dir, now.head, now)
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
        if not report["stream_ok"]:
            print(f"stream       NOT THE MODELS' STREAM: {report['stream_problem']}; run `hiscrm projections rebuild`")
    return 0 if report["stream_ok"] else 1


async def run_verify(args: argparse.Namespace) -> int:
    gens = Generations(settings(args).read_models_dir)
    async with nats_client(args, "hiscrm-verify") as nc:
        checkpoint, difference = await verify(nc, gens, MODELS)
    if difference is None:
        print(f"read models match a clean rebuild up to sequence {checkpoint}")
        return 0
    print(f"read models differ from a clean rebuild up to sequence {checkpoint}: {difference}")
    return 1
