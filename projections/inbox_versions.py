"""Each account's inbox version: the stream sequence of the last inbox fact of that account.

Every observation and IM-state change of an account is an `inbox.<account_id>` fact, so anything
read from that account's inbox (its pages, its unread counts) can only have changed if this number
did. The API uses it to keep a page it has built until the account's inbox moves on.
"""

from __future__ import annotations

from hiscrm.facts import catalogue as c
from hiscrm.facts.codec import Recorded
from hiscrm.projector.model import Tx, key

NAME = "inbox_versions"
VERSION = 1
ROWS = "inbox_versions"  # key(account_id) -> int (stream sequence)
TABLES = (ROWS,)


def _moved(tx: Tx, rec: Recorded) -> None:
    tx.put(ROWS, key(rec.fact.account_id), rec.seq)  # type: ignore[attr-defined]


def version(tx: Tx, account_id: str) -> int:
    """0 for an account with no inbox facts yet."""
    return tx.get(ROWS, key(account_id), int) or 0


HANDLERS = {cls.type_name(): _moved for cls in c.FACT_TYPES if cls.aggregate == "inbox"}
