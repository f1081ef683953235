"""Versions of what the IM list pages read: stream sequences of the last facts that could change them.

- An account's inbox version: its last `inbox.<account_id>` fact. Every observation and IM-state
  change of an account is one, so its conversations, messages, comments, works and unread counts can
  only have changed if this number did.
- An account's version: its last fact of any kind that names it (inbox, account, login), which is
  what its notifications (account trouble, logins) and its own row depend on beside its inbox.
- The accounts version: the last fact the accounts model applies, for any account (the accounts list).

The API keeps a page it has built until the version it depends on moves (hiscrm/api/im/page_cache.py).
"""

from __future__ import annotations

from collections.abc import Callable

from hiscrm.facts import catalogue as c
from hiscrm.facts.codec import Recorded
from hiscrm.projector.model import Tx, key
from projections import accounts

NAME = "inbox_versions"
VERSION = 2  # 2: account versions and the accounts version
ROWS = "inbox_versions"  # key(account_id) -> int (stream sequence)
ACCOUNT_ROWS = "account_versions"  # key(account_id) -> int
LIST_ROWS = "list_versions"  # ACCOUNTS_LIST -> int
TABLES = (ROWS, ACCOUNT_ROWS, LIST_ROWS)
ACCOUNTS_LIST = b"accounts"


def version(tx: Tx, account_id: str) -> int:
    """The account's inbox version; 0 for an account with no inbox facts yet."""
    return tx.get(ROWS, key(account_id), int) or 0


def account_version(tx: Tx, account_id: str) -> int:
    return tx.get(ACCOUNT_ROWS, key(account_id), int) or 0


def accounts_version(tx: Tx) -> int:
    return tx.get(LIST_ROWS, ACCOUNTS_LIST, int) or 0


def _moved(inbox: bool, listed: bool) -> Callable[[Tx, Recorded], None]:
    def moved(tx: Tx, rec: Recorded) -> None:
        account_key = key(rec.fact.account_id)  # type: ignore[attr-defined]
        tx.put(ACCOUNT_ROWS, account_key, rec.seq)
        if inbox:
            tx.put(ROWS, account_key, rec.seq)
        if listed:
            tx.put(LIST_ROWS, ACCOUNTS_LIST, rec.seq)

    return moved


HANDLERS = {
    cls.type_name(): _moved(cls.aggregate == "inbox", cls.type_name() in accounts.HANDLERS)
    for cls in c.FACT_TYPES
    if cls.aggregate in ("inbox", "account", "login")
}
