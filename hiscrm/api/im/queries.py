"""Reading pages of the read models for the IM routes, on the models' public tables and functions.

A page walks one order index strictly after the cursor item's key, reads each row, keeps the rows
the filters accept and stops after `count + 1` accepted rows, so `has_more` is exact. The cursor
handed back is the `seq` of the last item returned (docs/read-models.md, "Paging").
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import msgspec

from hiscrm.api.errors import bad_request
from hiscrm.projector.model import Tx, key
from projections import contents
from projections.paging import scan_after

R = TypeVar("R")

Keep = Callable[[R], bool]


@dataclass
class Page(Generic[R]):
    rows: list[R]
    has_more: bool
    cursor: int


def bad_cursor(cursor: int) -> Exception:
    return bad_request(f"cursor {cursor} is not an item of this list; pass back a cursor this list returned, or 0")


def walk(
    row_keys: Iterator[Any],
    load: Callable[[Any], R | None],
    keep: Keep[R],
    count: int,
    cursor: int,
    seq_of: Callable[[R], int],
    stop: Keep[R] | None = None,
) -> Page[R]:
    """Up to `count` rows the filter keeps, in index order; `stop` ends the walk early (the rest cannot match)."""
    rows: list[R] = []
    for row_key in row_keys:
        row = load(row_key)
        if row is None:
            continue
        if stop is not None and stop(row):
            break
        if not keep(row):
            continue
        if len(rows) == count:
            return Page(rows, True, seq_of(rows[-1]))
        rows.append(row)
    return Page(rows, False, seq_of(rows[-1]) if rows else cursor)


def index(tx: Tx, table: str, prefix: bytes, after: bytes | None, type_: Any = bytes) -> Iterator[Any]:
    """The values (row keys or ids) an order index holds under `prefix`, strictly after `after`."""
    return (v for _, v in scan_after(tx, table, prefix, after, type_))


def after_key(cursor: int, position: bytes | None, prefix: bytes) -> bytes | None:
    """Where a walk resumes: the cursor item's key in this index; 400 when the cursor is not in this list."""
    if not cursor:
        return None
    if position is None or not position.startswith(prefix):
        raise bad_cursor(cursor)
    return position


class _Title(msgspec.Struct):
    """The one field of a ContentRow an inbox page needs: decoding only it skips the rest of the row."""

    title: str | None = None


def work_title(tx: Tx, account_id: str, content_id: str, fallback: str | None) -> str | None:
    """The work's title from the contents model, else the title the comment's own fact carried."""
    row = tx.get(contents.ROWS, contents.row_key(account_id, content_id), _Title)
    return (row.title if row is not None else None) or fallback


def under(*parts: str) -> bytes:
    """The prefix of every entry below these key parts."""
    return key(*parts, b"")
