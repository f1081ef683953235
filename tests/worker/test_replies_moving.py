"""DM replies through the whole worker while the account's inbox moves: each reply of the moving arm
has the sandbox's stirs (its control API) make the conversation list reorder as the send's chat page
reads it, someone new write between the list's answer and user_detail's, and the peer write our very
words as we send them. Every reply must be sent to exactly its conversation with the platform id of
our message, as every reply of the control (nothing moving) in the same run is."""

from __future__ import annotations

from typing import Any

from hiscrm.facts.base import Fact
from hiscrm.facts.catalogue import ReplyFailed, ReplySent, SnapshotSynced
from tests.worker.conftest import KITCHEN, Cluster, Sandbox, wait_for_facts

ROUNDS = 4  # replies per arm


def stirs(conversation_id: str, content: str) -> list[dict[str, Any]]:
    return [
        {"on": "/ws/v2", "move": "lift", "count": 20, "after_ms": 5, "every_ms": 15},
        {"on": "/creator/im/user_detail", "move": "newcomer"},
        {"on": "/v1/message/send", "move": "message", "conversation_id": conversation_id, "text": content},
    ]


async def test_dm_replies_reach_their_conversation_while_the_inbox_moves(  # type: ignore[no-untyped-def]
    nc, cluster: Cluster, sandbox: Sandbox
) -> None:
    # An interval no test outlasts: after the first pass, the replies' pages are the only ones asking
    # for the chat page's paths, so each stir fires on the reply it was set for.
    cluster.start_worker()
    await cluster.logged_in("kitchen", KITCHEN, interval=3600)
    await wait_for_facts(nc, SnapshotSynced, timeout=90)
    world = sandbox.world
    outcomes: dict[str, list[str]] = {"still": [], "moving": []}
    for n in range(ROUNDS):
        for arm in ("still", "moving"):
            listed = [c for c in world.conversations_newest_first(KITCHEN) if c.peer_of(KITCHEN) not in world.accounts]
            target = listed[-1 - n % len(listed)]  # from the bottom of the list up
            content = f"{arm} 回复{n}"
            if arm == "moving":
                for stir in stirs(target.conversation_id, content):
                    await sandbox.control("POST", f"/accounts/{KITCHEN}/stirs", stir)
            sent_before = len(world.sent)
            number = 2 * n + (arm == "moving")
            await cluster.request_reply(
                number, "kitchen", target_type="direct_message", target_id="-", conversation_id=target.conversation_id,
                user_id=target.peer_of(KITCHEN), content=content,
            )  # fmt: skip
            settled = await wait_for_facts(nc, Fact, where=lambda f, r=f"R{number}": _settles(f, r))
            stirred = await sandbox.control("GET", f"/accounts/{KITCHEN}/stirs")
            await sandbox.control("POST", f"/accounts/{KITCHEN}/stirs/clear")
            sent = [(s.conversation_id, s.text, s.id) for s in world.sent[sent_before:]]
            outcome = settled[0]
            if arm == "moving":  # the inbox really moved (the peer's words only once we sent ours)
                assert [s["moved"] > 0 for s in stirred] == [True, True, bool(sent)], stirred
            if isinstance(outcome, ReplyFailed):
                outcomes[arm].append(f"failed: {outcome.code}: {outcome.reason[:160]}")
            elif sent != [(target.conversation_id, content, outcome.platform_id)]:
                outcomes[arm].append(f"sent {sent}, platform id {outcome.platform_id}")
            else:
                outcomes[arm].append("reached")
    assert outcomes["still"] == ["reached"] * ROUNDS
    assert outcomes["moving"] == outcomes["still"]


def _settles(fact: Fact, reply_id: str) -> bool:
    return isinstance(fact, (ReplySent, ReplyFailed)) and fact.reply_id == reply_id
