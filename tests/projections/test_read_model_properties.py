"""Properties over random fact sequences: batching never changes the models, and the counters agree with the rows."""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from hiscrm.facts import catalogue as c
from hiscrm.facts import codec
from hiscrm.facts.base import Fact
from hiscrm.projector.applier import Applier
from hiscrm.projector.storage import ModelEnv
from hiscrm.store.feed import Raw
from projections import MODELS, comments, contents, conversations, unread
from projections.comments import CommentRow
from projections.contents import ContentRow
from projections.conversations import ConversationRow, MessageRow
from tests.projections.factlog import T0, to_raw

ACCOUNTS = ("a1", "a2")
account = st.sampled_from(ACCOUNTS)
person = st.builds(c.Person, user_id=st.sampled_from(("u1", "u2", "me")), name=st.sampled_from((None, "Ann", "Bo")))
small = st.integers(0, 5)
times = st.integers(T0 - 10_000, T0 + 10_000)
comment_id = st.sampled_from(("c0", "c1", "c2", "c3", "c4", "c5"))
content_id = st.sampled_from(("v0", "v1", "v2"))
conversation_id = st.sampled_from(("k0", "k1"))
message_id = st.sampled_from(("m0", "m1", "m2", "m3", "m4", "m5"))
login_id = st.sampled_from(("L0", "L1", "L2"))
reply_id = st.sampled_from(("r0", "r1", "r2"))
counts = st.builds(c.PassCounts, comments=small, messages=small)

observations = st.one_of(
    st.builds(
        c.CommentObserved,
        account_id=account,
        comment_id=comment_id,
        content_id=content_id,
        parent_comment_id=st.one_of(st.none(), comment_id),
        text=st.sampled_from(("hi", "好看")),
        author=person,
        create_time_ms=times,
        like_count=small,
        is_author=st.booleans(),
        baseline=st.booleans(),
    ),
    st.builds(
        c.MessageObserved,
        account_id=account,
        message_id=message_id,
        conversation_id=conversation_id,
        sender=person,
        receiver=person,
        direction=st.sampled_from(("inbound", "outbound")),
        content=st.sampled_from(("hello", "价格?")),
        create_time_ms=times,
        baseline=st.booleans(),
    ),
    st.builds(
        c.ContentObserved,
        account_id=account,
        content_id=content_id,
        title=st.sampled_from((None, "t")),
        publish_time_ms=st.one_of(st.none(), times),
        stats=st.builds(c.ContentStats, comments=small),
        baseline=st.booleans(),
    ),
    st.builds(c.ConversationObserved, account_id=account, conversation_id=conversation_id, peer=person),
    st.builds(
        c.NotificationObserved,
        account_id=account,
        notification_id=st.sampled_from(("n0", "n1")),
        notice_type=small,
        create_time_ms=times,
        baseline=st.booleans(),
    ),
    st.builds(
        c.SnapshotSynced,
        account_id=account,
        worker_id=st.just("w1"),
        pass_no=small,
        counts=counts,
        new_counts=counts,
        duration_ms=small,
        digest=st.just("d"),
    ),
)
im_state = st.one_of(
    st.builds(c.CommentRead, account_id=account, comment_id=comment_id),
    st.builds(c.ContentRead, account_id=account, content_id=content_id),
    *(
        st.builds(cls, account_id=account, message_id=message_id)
        for cls in (c.MessageRead, c.MessageDeleted, c.MessageRecalled)
    ),
    st.builds(
        c.MessageStatusChanged, account_id=account, message_id=message_id, status=st.sampled_from(("read", "failed"))
    ),
    *(
        st.builds(cls, account_id=account, conversation_id=conversation_id)
        for cls in (
            c.ConversationRead,
            c.ConversationPinned,
            c.ConversationUnpinned,
            c.ConversationMuted,
            c.ConversationDeleted,
        )
    ),
)
lifecycle = st.one_of(
    st.builds(c.AccountCreated, account_id=account, platform=st.just("douyin"), account_name=st.just("n")),
    st.builds(c.AccountUpdated, account_id=account, status=st.sampled_from((None, "active", "disabled"))),
    st.builds(c.AccountDeleted, account_id=account),
    st.builds(c.AccountAssigned, account_id=account, worker_id=st.sampled_from(("w1", "w2"))),
    st.builds(c.AccountUnassigned, account_id=account, worker_id=st.sampled_from(("w1", "w2"))),
    st.builds(c.AccountSessionExpired, account_id=account),
    st.builds(c.AccountBlocked, account_id=account),
    st.builds(c.WorkerRegistered, worker_id=st.just("w1"), platforms=st.just(["douyin"]), max_accounts=small),
    st.builds(c.LoginRequested, login_id=login_id, account_id=account, expires_at_ms=times),
    st.builds(c.LoginQrcodeReady, login_id=login_id, account_id=account, qrcode=st.just("data:x")),
    st.builds(c.LoginQrcodeRefreshed, login_id=login_id, account_id=account, qrcode=st.just("data:y")),
    st.builds(c.LoginVerificationRequired, login_id=login_id, account_id=account),
    st.builds(
        c.LoginSucceeded,
        login_id=login_id,
        account_id=account,
        profile=st.builds(c.Profile, uid=st.just("1")),
        sealed_credentials=st.just("s"),
    ),
    st.builds(c.LoginFailed, login_id=login_id, account_id=account, reason=st.just("no")),
    st.builds(c.LoginExpired, login_id=login_id, account_id=account),
    st.builds(
        c.ReplyRequested,
        reply_id=reply_id,
        account_id=account,
        request_id=st.sampled_from(("q0", "q1")),
        target_type=st.sampled_from(("comment", "direct_message", "work")),
        target_id=st.just("c0"),
        content=st.just("thanks"),
    ),
    st.builds(c.ReplySent, reply_id=reply_id, account_id=account),
    st.builds(c.ReplyFailed, reply_id=reply_id, account_id=account, reason=st.just("x")),
)
UNDECODABLE = "undecodable"
entries = st.one_of(observations, observations, im_state, lifecycle, st.just(UNDECODABLE))
# Mostly seconds apart, sometimes days, so activity's retention is exercised too.
steps = st.sampled_from((0, 1_000, 61_000, 3 * 86_400_000))


def raws_of(items: list[tuple[Fact | str, int]]) -> list[Raw]:
    out, now = [], T0
    for seq, (item, step) in enumerate(items, start=1):
        now += step
        if isinstance(item, str):
            headers = {codec.EVENT: "inbox.comment_observed", codec.SCHEMA: "1", codec.MSG_ID: f"bad-{seq}"}
            out.append(Raw(seq, now, 0, "hiscrm.evt.inbox.a1.comment_observed", headers, b'{"account_id": 1'))
        else:
            out.append(to_raw(item, seq, now))
    return out


def project(path: Path, batches: list[list[Raw]]) -> ModelEnv:
    env = ModelEnv(path, MODELS)
    applier = Applier(env)
    for batch in batches:
        applier.apply_batch(batch)
    return env


def split(raws: list[Raw], cuts: list[int]) -> list[list[Raw]]:
    bounds = sorted({0, len(raws), *(cut % (len(raws) + 1) for cut in cuts)})
    return [raws[a:b] for a, b in itertools.pairwise(bounds)]


@settings(max_examples=50, deadline=None)
@given(
    items=st.lists(st.tuples(entries, steps), min_size=1, max_size=60),
    cuts=st.lists(st.integers(0, 60), max_size=12),
)
def test_batch_boundaries_never_change_the_models(items: list[tuple[Fact | str, int]], cuts: list[int]) -> None:
    raws = raws_of(items)
    with tempfile.TemporaryDirectory() as tmp:
        whole = project(Path(tmp) / "whole", [raws])
        pieces = project(Path(tmp) / "pieces", split(raws, cuts))
        try:
            assert list(whole.items()) == list(pieces.items())
            assert whole.checkpoint() == pieces.checkpoint() == len(raws)
            undecodable = sum(1 for item, _ in items if isinstance(item, str))
            assert whole.dead_letter_count() == undecodable, [d.reason for d in whole.dead_letters()]
            deleted = {f.account_id for f, _ in items if isinstance(f, c.AccountDeleted)}
            check_counters_agree_with_rows(whole, [a for a in ACCOUNTS if a not in deleted])
        finally:
            whole.close()
            pieces.close()


def check_counters_agree_with_rows(env: ModelEnv, live_accounts: list[str]) -> None:
    with env.read() as txn:
        tx = env.tx(txn)
        total = unread.Counts()
        for account_id in live_accounts:
            prefix = account_id.encode() + b"\x00"
            rows = [r for _, r in tx.scan(comments.ROWS, prefix, CommentRow)]
            messages = [m for _, m in tx.scan(conversations.MESSAGES, prefix, MessageRow)]
            convs = [v for _, v in tx.scan(conversations.CONVERSATIONS, prefix, ConversationRow)]
            got = unread.counts(tx, account_id)
            assert got.unread_comments == sum(r.is_new and r.parent_comment_id is None for r in rows)
            assert got.unread_discussions == sum(r.is_new and r.parent_comment_id is not None for r in rows)
            assert got.unread_direct_messages == sum(m.is_new for m in messages) == sum(v.unread_count for v in convs)
            assert all(not (m.is_new and (m.is_deleted or m.is_read)) for m in messages)
            assert all(m.is_new == (m.direction == "inbound" and not m.is_read) for m in messages if not m.is_deleted)
            assert all(r.is_new == (not r.is_read) for r in rows)
            for _, work in tx.scan(contents.ROWS, prefix, ContentRow):
                assert work.stats.new_comments == sum(r.is_new and r.content_id == work.content_id for r in rows)
            for name in ("unread_comments", "unread_discussions", "unread_direct_messages", "total_unread"):
                setattr(total, name, getattr(total, name) + getattr(got, name))
        if len(live_accounts) == len(ACCOUNTS):
            assert unread.counts(tx) == total
