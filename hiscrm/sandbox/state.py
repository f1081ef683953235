"""The in-memory world: records, the indexes that keep paging cheap, and every change the site allows.

All access happens on one event loop, so nothing here locks.
"""

from __future__ import annotations

import bisect
import os
import random
import secrets
import time
from collections import defaultdict
from collections.abc import Callable, Container, Iterable
from pathlib import Path
from typing import TypeVar

import msgspec

from hiscrm.private import write_private
from hiscrm.sandbox import ids
from hiscrm.sandbox.model import (
    Account,
    Arm,
    Comment,
    Conversation,
    Invalid,
    Message,
    NotFound,
    Notice,
    QrLogin,
    Refusal,
    Sent,
    Session,
    SmsSent,
    Snapshot,
    User,
    Variants,
    Work,
)

DEFAULT_QR_TTL = 150.0
DEFAULT_SMS_TTL = 300.0  # a sent code is good this long
DEFAULT_SMS_RESEND = 60.0  # "NNs 后重新发送": the next code can be asked for after this
SMS_MAX_ATTEMPTS = 5  # wrong codes before the code is void
SMS_WRONG = (1202, "验证码错误，请重新输入")
SMS_EXPIRED = (1203, "验证码已过期，请重新获取")
SMS_TOO_MANY = (1204, "错误次数过多，请重新获取验证码")
SMS_NOT_SENT = (1201, "请先获取验证码")
SMS_TOO_SOON = (1206, "发送过于频繁，请稍后再试")
QR_KEEP_SECONDS = 600.0  # forget finished QR logins after this, so polling pages cannot grow memory
NOTICE_COMMENT = 31
T = TypeVar("T")
PENDING = ("new", "scanned", "verify")

CLOSED = (15421, "作品已设为私密，评论功能已关闭")
RATE_LIMITED = (2053, "操作过于频繁，请稍后再试")
REFUSED = {
    "comment_reply": (15425, "回复失败，该用户已开启评论权限，无法回复"),
    "dm": (7193, "发送失败，对方已设置私信权限，无法发送"),
}


class RequestCount(msgspec.Struct, kw_only=True):
    uid: str
    path: str
    count: int = 0
    first: float = 0.0
    last: float = 0.0


def _by_time(item: Comment | Notice) -> tuple[int, int]:
    return (item.create_time, int(item.cid if isinstance(item, Comment) else item.nid))


def _work_key(work: Work) -> tuple[int, int]:
    return (work.create_time, int(work.aweme_id))


def newest_first(items: list[T], offset: int, count: int) -> list[T]:
    """One page of an ascending list read from its newest end."""
    end = max(len(items) - max(offset, 0), 0)
    return items[max(end - count, 0) : end][::-1]


def time_page(items: list[T], key: Callable[[T], int], count: int, after: int, before: int) -> tuple[list[T], bool]:
    """Newest first from a list ascending by key, strictly inside (after, before) where those are > 0.

    A page never ends inside a run of equal keys, so paging on with `before` = the page's smallest
    key loses nothing; such a page can be longer than count. The flag says whether older ones remain.
    """
    hi = bisect.bisect_left(items, before, key=key) if before > 0 else len(items)
    lo = bisect.bisect_right(items, after, key=key) if after > 0 else 0
    start = max(hi - count, lo)
    while lo < start < hi and key(items[start - 1]) == key(items[start]):
        start -= 1
    return items[start:hi][::-1], start > lo


class World:
    def __init__(
        self,
        *,
        qr_ttl: float = DEFAULT_QR_TTL,
        id_counter: int = 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.qr_ttl = qr_ttl
        self.sms_ttl = DEFAULT_SMS_TTL
        self.sms_resend = DEFAULT_SMS_RESEND
        self.sms_outbox: list[SmsSent] = []
        self.id_counter = id_counter
        self.clock = clock
        self.rng = random.Random(id_counter)
        self.users: dict[str, User] = {}
        self.uid_by_unique_id: dict[str, str] = {}
        self.accounts: dict[str, Account] = {}
        self.works: dict[str, Work] = {}
        self.works_by_item_id: dict[str, Work] = {}
        self.works_by_owner: defaultdict[str, list[Work]] = defaultdict(list)
        self.comments: dict[str, Comment] = {}
        self.cid_by_token: dict[str, str] = {}  # the creator comment API's "@j/" ids
        self.top_comments: defaultdict[str, list[Comment]] = defaultdict(list)
        self.replies: defaultdict[str, list[Comment]] = defaultdict(list)
        self.comment_totals: defaultdict[str, int] = defaultdict(int)
        self.conversations: dict[str, Conversation] = {}
        self.conversations_of: defaultdict[str, dict[str, Conversation]] = defaultdict(dict)
        self.notices_of: defaultdict[str, list[Notice]] = defaultdict(list)
        self.sessions: dict[str, Session] = {}
        self.qr_logins: dict[str, QrLogin] = {}
        self.sent: list[Sent] = []
        self.requests: dict[tuple[str, str], RequestCount] = {}
        self.variants = Variants()
        # Called with every new DM: the IM push (im.py) delivers it to the chat pages that are open.
        self.message_listeners: set[Callable[[Message], None]] = set()

    # ids and time

    def now(self) -> int:
        return int(self.clock())

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    def new_id(self, ts: int, taken: Container[str] = ()) -> str:
        while True:
            self.id_counter += 1
            candidate = ids.snowflake(ts, self.id_counter)
            if candidate not in taken:
                return candidate

    # users and accounts

    def add_user(
        self,
        nickname: str,
        *,
        uid: str | None = None,
        unique_id: str | None = None,
        signature: str = "",
        follower_count: int = 0,
        following_count: int = 0,
        ip_label: str = "",
    ) -> User:
        uid = uid or self._fresh(lambda: ids.random_uid(self.rng), self.users)
        unique_id = unique_id or self._fresh(lambda: ids.random_unique_id(self.rng), self.uid_by_unique_id)
        if not uid.isdigit():
            raise Invalid(f"uid must be digits, got {uid!r}")
        if uid in self.users:
            raise Invalid(f"user {uid} already exists")
        if unique_id in self.uid_by_unique_id:
            raise Invalid(f"unique_id {unique_id!r} is taken")
        user = User(
            uid=uid,
            sec_uid=ids.sec_uid(uid),
            unique_id=unique_id,
            short_id=ids.random_short_id(self.rng),
            nickname=nickname,
            avatar=ids.avatar_path(uid),
            signature=signature,
            follower_count=follower_count,
            following_count=following_count,
            ip_label=ip_label,
        )
        self._index_user(user)
        return user

    def _fresh(self, make: Callable[[], str], taken: Container[str]) -> str:
        while (value := make()) in taken:
            pass
        return value

    def _index_user(self, user: User) -> None:
        self.users[user.uid] = user
        self.uid_by_unique_id[user.unique_id] = user.uid

    def add_account(self, uid: str) -> Account:
        if uid not in self.users:
            raise NotFound(f"no user {uid}")
        if uid in self.accounts:
            raise Invalid(f"{uid} is already an account")
        account = self.accounts[uid] = Account(uid=uid)
        return account

    def account(self, ref: str) -> Account:
        """An account by uid or by 抖音号."""
        account = self.accounts.get(ref) or self.accounts.get(self.uid_by_unique_id.get(ref, ""))
        if account is None:
            raise NotFound(f"no account {ref!r}")
        return account

    def user(self, uid: str) -> User:
        try:
            return self.users[uid]
        except KeyError:
            raise NotFound(f"no user {uid}") from None

    # works

    def add_work(
        self,
        owner_uid: str,
        desc: str,
        *,
        create_time: int | None = None,
        aweme_id: str | None = None,
        aweme_type: int = 0,
        private: bool = False,
        comments_closed: bool = False,
        play_count: int = 0,
        digg_count: int = 0,
        share_count: int = 0,
        collect_count: int = 0,
    ) -> Work:
        self.account(owner_uid)
        ts = self.now() if create_time is None else create_time
        if aweme_id is not None and (not aweme_id.isdigit() or aweme_id in self.works):
            raise Invalid(f"aweme_id {aweme_id!r} is not a fresh digit string")
        aweme_id = aweme_id or self.new_id(ts, self.works)
        work = Work(
            aweme_id=aweme_id,
            item_id=ids.item_id(aweme_id),
            owner_uid=owner_uid,
            desc=desc,
            create_time=ts,
            cover=ids.cover_path(aweme_id),
            aweme_type=aweme_type,
            play_count=play_count,
            digg_count=digg_count,
            share_count=share_count,
            collect_count=collect_count,
            private=private,
            comments_closed=comments_closed,
        )
        self._index_work(work)
        return work

    def _index_work(self, work: Work) -> None:
        self.works[work.aweme_id] = work
        self.works_by_item_id[work.item_id] = work
        bisect.insort(self.works_by_owner[work.owner_uid], work, key=_work_key)

    def work(self, ref: str) -> Work:
        """A work by aweme_id or by the creator API's encrypted item_id."""
        work = self.works.get(ref) or self.works_by_item_id.get(ref)
        if work is None:
            raise NotFound(f"no work {ref!r}")
        return work

    def newest_works(self, uid: str) -> list[Work]:
        return self.works_by_owner.get(uid, [])[::-1]

    # comments

    def add_comment(
        self,
        aweme_id: str,
        user_uid: str,
        text: str,
        *,
        reply_to: str | None = None,
        create_time: int | None = None,
        cid: str | None = None,
        digg_count: int = 0,
        ip_label: str | None = None,
        image: str = "",
    ) -> Comment:
        work = self.work(aweme_id)
        user = self.user(user_uid)
        if not text.strip():
            raise Invalid("comment text is empty")
        if cid is not None and (not cid.isdigit() or cid in self.comments):
            raise Invalid(f"cid {cid!r} is not a fresh digit string")
        reply_id = reply_to_reply_id = "0"
        if reply_to:
            parent = self.comment(reply_to)
            if parent.aweme_id != work.aweme_id:
                raise Invalid(f"comment {reply_to} is on another work")
            reply_id = parent.cid if parent.reply_id == "0" else parent.reply_id
            reply_to_reply_id = "0" if parent.reply_id == "0" else parent.cid
        ts = self.now() if create_time is None else create_time
        comment = Comment(
            cid=cid or self.new_id(ts, self.comments),
            aweme_id=work.aweme_id,
            user_uid=user.uid,
            text=text,
            create_time=ts,
            reply_id=reply_id,
            reply_to_reply_id=reply_to_reply_id,
            digg_count=digg_count,
            ip_label=user.ip_label if ip_label is None else ip_label,
            image=image,
        )
        self._index_comment(comment)
        if user.uid != work.owner_uid and work.owner_uid in self.accounts:
            self._add_notice(work.owner_uid, comment)
        return comment

    def _index_comment(self, comment: Comment) -> None:
        self.comments[comment.cid] = comment
        self.cid_by_token[ids.comment_token(comment.cid)] = comment.cid
        if comment.reply_id == "0":
            bisect.insort(self.top_comments[comment.aweme_id], comment, key=_by_time)
        else:
            bisect.insort(self.replies[comment.reply_id], comment, key=_by_time)
        self.comment_totals[comment.aweme_id] += 1

    def comment(self, ref: str) -> Comment:
        """A comment by its numeric cid or by the creator API's encrypted id."""
        try:
            return self.comments[self.cid_by_token.get(ref, ref)]
        except KeyError:
            raise NotFound(f"no comment {ref!r}") from None

    def creator_reply(self, uid: str, comment_id: str, item_ref: str, text: str) -> Comment:
        """The logged-in creator answers a comment on one of the site's works."""
        comment = self.comment(comment_id)
        work = self.work(item_ref or comment.aweme_id)
        if work.aweme_id != comment.aweme_id:
            raise Invalid(f"comment {comment_id} is not on work {item_ref}")
        return self._creator_post(uid, work, text, "comment_reply", reply_to=comment)

    def creator_comment(self, uid: str, item_ref: str, text: str) -> Comment:
        """The logged-in creator comments on one of the site's works at the top level (the reply
        endpoint with no comment named). Arms of kind "comment_reply" apply to it too."""
        return self._creator_post(uid, self.work(item_ref), text, "work_comment")

    def _creator_post(self, uid: str, work: Work, text: str, kind: str, reply_to: Comment | None = None) -> Comment:
        """A comment the creator posts on `work` (a reply to `reply_to`, or top level), recorded as sent."""
        if not text.strip():
            raise Invalid(f"{'reply' if reply_to else 'comment'} text is empty")
        if work.comments_closed:
            raise Refusal(*CLOSED)
        self._consume_arm(uid, "comment_reply")
        posted = self.add_comment(work.aweme_id, uid, text, reply_to=reply_to.cid if reply_to else None)
        self.sent.append(
            Sent(
                seq=len(self.sent) + 1,
                kind=kind,
                uid=uid,
                id=posted.cid,
                text=text,
                create_time=posted.create_time,
                aweme_id=work.aweme_id,
                comment_id=reply_to.cid if reply_to else "",
            )
        )
        return posted

    # direct messages

    def conversation(self, uid_a: str, uid_b: str) -> Conversation:
        """The one conversation between two users, opened on first use."""
        if uid_a == uid_b:
            raise Invalid("a conversation needs two different users")
        conv_id = ids.conversation_id(uid_a, uid_b)
        conv = self.conversations.get(conv_id)
        if conv is None:
            self.user(uid_a)
            self.user(uid_b)
            low, high = conv_id.split(":")[2:]
            conv = Conversation(conversation_id=conv_id, short_id=self.new_id(self.now()), members=(low, high))
            self._index_conversation(conv)
        return conv

    def _index_conversation(self, conv: Conversation) -> None:
        self.conversations[conv.conversation_id] = conv
        low, high = conv.members
        self.conversations_of[low][high] = conv
        self.conversations_of[high][low] = conv

    def add_message(
        self,
        sender_uid: str,
        recipient_uid: str,
        text: str,
        *,
        created_ms: int | None = None,
        msg_id: str | None = None,
    ) -> Message:
        if not text.strip():
            raise Invalid("message text is empty")
        conv = self.conversation(sender_uid, recipient_uid)
        if msg_id is not None and not msg_id.isdigit():
            raise Invalid(f"msg_id {msg_id!r} is not a digit string")
        if msg_id is not None and any(m.msg_id == msg_id for m in conv.messages):
            raise Invalid(f"message {msg_id} already exists")
        if created_ms is None:
            # Strictly increasing within a conversation keeps "older than cursor" paging exact.
            created_ms = max(self.now_ms(), conv.messages[-1].created_ms + 1 if conv.messages else 0)
        message = Message(
            msg_id=msg_id or self.new_id(created_ms // 1000),
            conversation_id=conv.conversation_id,
            sender_uid=sender_uid,
            content=text,
            created_ms=created_ms,
        )
        bisect.insort(conv.messages, message, key=lambda m: (m.created_ms, int(m.msg_id)))
        for listener in list(self.message_listeners):
            listener(message)
        return message

    def send_dm(self, uid: str, conversation_id: str, text: str) -> Message:
        """The logged-in creator writes in one of their conversations."""
        conv = self.conversations.get(conversation_id)
        if conv is None or uid not in conv.members:
            raise NotFound(f"no conversation {conversation_id!r} for {uid}")
        if not text.strip():
            raise Invalid("message text is empty")
        self._consume_arm(uid, "dm")
        peer = conv.peer_of(uid)
        message = self.add_message(uid, peer, text)
        self.sent.append(
            Sent(
                seq=len(self.sent) + 1,
                kind="dm",
                uid=uid,
                id=message.msg_id,
                text=text,
                create_time=message.created_ms // 1000,
                created_ms=message.created_ms,
                conversation_id=conv.conversation_id,
                peer_uid=peer,
            )
        )
        return message

    def conversations_newest_first(self, uid: str) -> list[Conversation]:
        convs = [c for c in self.conversations_of.get(uid, {}).values() if c.messages]
        return sorted(convs, key=lambda c: c.messages[-1].created_ms, reverse=True)

    # refusals armed by tests

    def arm(self, uid: str, kind: str, mode: str, times: int | None) -> None:
        account = self.account(uid)
        if kind not in REFUSED:
            raise Invalid(f"kind must be one of {sorted(REFUSED)}")
        if mode == "off":
            account.arms.pop(kind, None)
        elif mode in ("refuse", "rate_limit"):
            account.arms[kind] = Arm(mode=mode, remaining=times)
        else:
            raise Invalid("mode must be refuse, rate_limit or off")

    def _consume_arm(self, uid: str, kind: str) -> None:
        account = self.accounts.get(uid)
        if account is None or (arm := account.arms.get(kind)) is None:
            return
        if arm.remaining is not None:
            arm.remaining -= 1
            if arm.remaining <= 0:
                del account.arms[kind]
        raise Refusal(*(RATE_LIMITED if arm.mode == "rate_limit" else REFUSED[kind]))

    # notices

    def _add_notice(self, owner_uid: str, comment: Comment) -> None:
        notices = self.notices_of[owner_uid]
        nid = self.new_id(comment.create_time)
        notice = Notice(
            nid=nid,
            owner_uid=owner_uid,
            type=NOTICE_COMMENT,
            create_time=comment.create_time,
            cid=comment.cid,
            aweme_id=comment.aweme_id,
        )
        bisect.insort(notices, notice, key=_by_time)

    def notices_page(self, uid: str, count: int, min_time: int, max_time: int) -> tuple[list[Notice], bool]:
        return time_page(self.notices_of.get(uid, []), lambda n: n.create_time, count, min_time, max_time)

    # QR login

    def new_qr(self) -> QrLogin:
        now = self.clock()
        for token in [t for t, q in self.qr_logins.items() if now - q.created > QR_KEEP_SECONDS]:
            del self.qr_logins[token]
        qr = QrLogin(token=secrets.token_hex(16), created=now, expires_at=now + self.qr_ttl)
        self.qr_logins[qr.token] = qr
        return qr

    def qr(self, token: str) -> QrLogin:
        qr = self.qr_logins.get(token)
        if qr is None:
            raise NotFound(f"no QR login {token!r}")
        if qr.status in ("new", "scanned") and self.clock() >= qr.expires_at:
            qr.status = "expired"
        return qr

    def latest_qr(self, statuses: Iterable[str]) -> QrLogin:
        wanted = set(statuses)
        for token in reversed(self.qr_logins):
            qr = self.qr(token)
            if qr.status in wanted:
                return qr
        raise NotFound(f"no QR login in state {'/'.join(sorted(wanted))}")

    def scan(self, token: str | None, uid: str, confirm: bool = True) -> QrLogin:
        """The phone app scans (and, unless told otherwise, confirms) as this account."""
        account = self.account(uid)
        qr = self.qr(token) if token else self.latest_qr(("new", "scanned"))
        if qr.status not in ("new", "scanned"):
            raise Invalid(f"QR login {qr.token} is {qr.status}")
        if qr.uid and qr.uid != account.uid:
            raise Invalid(f"QR login {qr.token} was scanned by another account")
        qr.uid = account.uid
        qr.status = "scanned"
        if confirm:
            if account.sms_required:
                qr.status = "verify"
                qr.verify_ticket = secrets.token_hex(12)
            else:
                self._confirm(qr)
        return qr

    def qr_by_ticket(self, verify_ticket: str) -> QrLogin:
        found = next((q for q in self.qr_logins.values() if verify_ticket and q.verify_ticket == verify_ticket), None)
        if found is None:
            raise NotFound(f"no verification {verify_ticket!r}")
        return found

    @staticmethod
    def masked_mobile(uid: str) -> str:
        return "138****" + uid[-4:]

    def send_sms(self, qr: QrLogin) -> SmsSent:
        """A new code to the account's phone; refused while the previous one is too fresh to resend."""
        self._waiting_for_verification(qr)
        now = self.clock()
        if qr.sms_code and now - qr.sms_sent_at < self.sms_resend:
            raise Refusal(*SMS_TOO_SOON)
        qr.sms_code, qr.sms_sent_at, qr.sms_attempts = f"{self.rng.randrange(10**6):06d}", now, 0
        sms = SmsSent(
            seq=len(self.sms_outbox) + 1,
            uid=qr.uid,
            mobile=self.masked_mobile(qr.uid),
            code=qr.sms_code,
            token=qr.token,
            sent_at=now,
        )
        self.sms_outbox.append(sms)
        return sms

    def verify(self, qr: QrLogin, code: str | None) -> None:
        """Completes SMS verification, or raises the Refusal the site answers; code None means the test
        completes it without knowing the code."""
        self._waiting_for_verification(qr)
        if code is not None:
            if not qr.sms_code:
                raise Refusal(*SMS_NOT_SENT)
            if self.clock() - qr.sms_sent_at >= self.sms_ttl:
                raise Refusal(*SMS_EXPIRED)
            if code.strip() != qr.sms_code:
                qr.sms_attempts += 1
                if qr.sms_attempts >= SMS_MAX_ATTEMPTS:
                    qr.sms_code = ""  # void: a new one must be asked for, at once
                    raise Refusal(*SMS_TOO_MANY)
                raise Refusal(*SMS_WRONG)
        self.accounts[qr.uid].sms_required = False
        self._confirm(qr)

    @staticmethod
    def _waiting_for_verification(qr: QrLogin) -> None:
        if qr.status != "verify":
            raise Invalid(f"QR login {qr.token} is {qr.status}, not waiting for verification")

    def _confirm(self, qr: QrLogin) -> None:
        qr.sessionid = self.open_session(qr.uid).sessionid
        qr.status = "confirmed"

    def expire_qr(self, token: str | None) -> list[str]:
        targets = [self.qr(token)] if token else [self.qr(t) for t in list(self.qr_logins)]
        expired = []
        for qr in targets:
            if qr.status in PENDING:
                qr.status = "expired"
                expired.append(qr.token)
        return expired

    # sessions

    def open_session(self, uid: str) -> Session:
        session = Session(
            sessionid=secrets.token_hex(16),
            uid=uid,
            created=self.now(),
            csrf_token="000100000001" + secrets.token_hex(20),
        )
        self.sessions[session.sessionid] = session
        return session

    def session(self, sessionid: str | None) -> Session | None:
        session = self.sessions.get(sessionid or "")
        return None if session is None or session.revoked else session

    def expire_sessions(self, uid: str) -> int:
        live = [s for s in self.sessions.values() if s.uid == uid and not s.revoked]
        for session in live:
            session.revoked = True
        return len(live)

    # request counters

    def count_request(self, uid: str, path: str) -> None:
        entry = self.requests.get((uid, path))
        now = self.clock()
        if entry is None:
            entry = self.requests[(uid, path)] = RequestCount(uid=uid, path=path, first=now)
        entry.count += 1
        entry.last = now

    # persistence

    def snapshot(self) -> Snapshot:
        return Snapshot(
            users=list(self.users.values()),
            accounts=list(self.accounts.values()),
            works=list(self.works.values()),
            comments=list(self.comments.values()),
            conversations=list(self.conversations.values()),
            notices=[n for notices in self.notices_of.values() for n in notices],
            sessions=list(self.sessions.values()),
            sent=self.sent,
            id_counter=self.id_counter,
            qr_ttl=self.qr_ttl,
            variants=self.variants,
        )

    @classmethod
    def from_snapshot(cls, snap: Snapshot, clock: Callable[[], float] = time.time) -> World:
        world = cls(qr_ttl=snap.qr_ttl, id_counter=snap.id_counter, clock=clock)
        for user in snap.users:
            world._index_user(user)
        world.accounts = {a.uid: a for a in snap.accounts}
        for work in snap.works:
            world._index_work(work)
        for comment in snap.comments:
            world._index_comment(comment)
        for conv in snap.conversations:
            world._index_conversation(conv)
        for notice in snap.notices:
            bisect.insort(world.notices_of[notice.owner_uid], notice, key=_by_time)
        world.sessions = {s.sessionid: s for s in snap.sessions}
        world.sent = snap.sent
        world.variants = snap.variants
        return world

    def encode(self) -> bytes:
        return msgspec.json.encode(self.snapshot())

    def save(self, path: str | os.PathLike[str]) -> int:
        """Writes the snapshot atomically and private (it holds live session cookies); returns its size."""
        return write_private(Path(path), self.encode())

    @classmethod
    def load(cls, path: str | os.PathLike[str], clock: Callable[[], float] = time.time) -> World:
        return cls.from_snapshot(msgspec.json.decode(Path(path).read_bytes(), type=Snapshot), clock)
