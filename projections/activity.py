"""Activity for plots: every fact per minute, and new comments and inbound DMs per account per minute.

Minutes are rec.time_ms // 60000. History is bounded: whenever a minute gets its first entry,
entries more than RETENTION_MINUTES older are dropped (globally, or for that account), which
depends only on the facts, so a rebuild keeps exactly what the live pass kept.
"""

from __future__ import annotations

import msgspec

from hiscrm.facts import catalogue as c
from hiscrm.facts.codec import Recorded
from hiscrm.projector.model import Tx, be64, key
from projections import sightings

NAME = "activity"
VERSION = 3  # 3: the account's own comments are not new
FACTS = "activity_facts"  # be64(minute) -> number of facts
NEW = "activity_new"  # key(account, be64(minute)) -> NewItems; only an item's first sighting is new
TABLES = (FACTS, NEW)
RETENTION_MINUTES = 7 * 24 * 60


class NewItems(msgspec.Struct, kw_only=True):
    comments: int = 0
    messages: int = 0


def minute_of(time_ms: int) -> int:
    return max(time_ms, 0) // 60_000


def _prune(tx: Tx, table: str, prefix: bytes, minute: int) -> None:
    """Drop the entries under `prefix` for minutes before `minute` - RETENTION_MINUTES."""
    cutoff = prefix + be64(max(minute - RETENTION_MINUTES, 0))
    old = []
    for k, _ in tx.scan(table, prefix):
        if k >= cutoff:
            break
        old.append(k)
    for k in old:
        tx.delete(table, k)


def _count_fact(tx: Tx, minute: int) -> None:
    k = be64(minute)
    count = tx.get(FACTS, k, int)
    if count is None:
        _prune(tx, FACTS, b"", minute)
    tx.put(FACTS, k, (count or 0) + 1)


def _count_new(tx: Tx, account_id: str, minute: int, field: str) -> None:
    prefix = key(account_id, b"")
    k = prefix + be64(minute)
    row = tx.get(NEW, k, NewItems)
    if row is None:
        _prune(tx, NEW, prefix, minute)
        row = NewItems()
    setattr(row, field, getattr(row, field) + 1)
    tx.put(NEW, k, row)


def apply(tx: Tx, rec: Recorded) -> None:
    minute = minute_of(rec.time_ms)
    _count_fact(tx, minute)
    f = rec.fact
    if isinstance(f, c.CommentObserved):
        if sightings.is_first(tx, f.account_id, "c", f.comment_id, rec.seq) and f.incoming:
            _count_new(tx, f.account_id, minute, "comments")
    elif isinstance(f, c.MessageObserved):
        if sightings.is_first(tx, f.account_id, "m", f.message_id, rec.seq) and f.incoming:
            _count_new(tx, f.account_id, minute, "messages")


HANDLERS = dict.fromkeys(c.BY_TYPE_NAME, apply)
