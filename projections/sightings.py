"""First sightings: the stream sequence at which each observed item of an account was first seen.

Notifications, unread counters and the new-item counts of activity and contents all act on an
item's first observation only. They share this one record per item instead of each keeping a set
of seen items, so an observation costs one write rather than four. Whichever model asks first
about a fact writes the record, so the answer does not depend on the order the models run in.
This is the one table several models read; any version change rebuilds every model, so bumping
this one cannot leave another built on an old meaning.
"""

from __future__ import annotations

from typing import Literal

from hiscrm.projector.model import Handler, Tx, key

NAME = "sightings"
VERSION = 1
TABLE = "sightings"  # key(account, "c"|"m"|"n", item_id) -> seq of the item's first observation
TABLES = (TABLE,)
HANDLERS: dict[str, Handler] = {}

# Comments and discussions share one id space on the platform; DMs and platform notices have their own.
Kind = Literal["c", "m", "n"]


def is_first(tx: Tx, account_id: str, kind: Kind, item_id: str, seq: int) -> bool:
    """True when the fact at `seq` is the item's first observation; records it as such if nothing saw it before."""
    k = key(account_id, kind, item_id)
    first = tx.get(TABLE, k, int)
    if first is None:
        tx.put(TABLE, k, seq)
        return True
    return first == seq


def first_seq(tx: Tx, account_id: str, kind: Kind, item_id: str) -> int | None:
    """The seq of the item's first observation, or None for an item never observed."""
    return tx.get(TABLE, key(account_id, kind, item_id), int)
