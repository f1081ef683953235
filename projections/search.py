"""Search over the inbox: an inverted index of terms to comments, discussions and DMs, per account.

What is indexed of an item: its text and the other party's nickname (a comment's author; a DM's
sender when inbound, receiver when outbound). Text is NFKC-normalised and case-folded, then split
at anything that is not a letter or digit into runs. A run of ASCII letters and digits is a word
and one term. Any other run (Chinese has no spaces) gives a term for each character and for each
pair of neighbouring characters, so a query of one character or of several finds its items.

A query matches an item when every query word is one of the item's words and every other query
run is inside one of the item's runs (`matches`). The index only proposes candidates: the walk
follows the postings of the query's rarest term (document frequencies are kept per account), in
inbox order (newest first, `_rows.when`), checks the other terms by point lookups, and confirms the
candidate against the stored text. So a request reads the postings of one term, never every item.

Tables:
- `search_postings`: key(account, term, when(create_time, seq)) -> b"c"|b"m" + item id.
- `search_df`: key(account, term) -> number of items of the account with that term.
- `search_docs`: key(account, "c"|"m", item_id) -> Doc(text, when): what is indexed now, so a
  re-observation with another text or name moves the item's terms (its place never changes).
"""

from __future__ import annotations

import heapq
import re
import unicodedata
from collections.abc import Iterator, Sequence
from operator import add, itemgetter
from typing import Literal

import msgspec

from hiscrm.facts import catalogue as c
from hiscrm.facts.codec import Recorded
from hiscrm.projector.model import SEP, Tx, key
from projections._rows import when
from projections.paging import scan_after

NAME = "search"
VERSION = 1
POSTINGS = "search_postings"
DF = "search_df"
DOCS = "search_docs"
TABLES = (POSTINGS, DF, DOCS)

Letter = Literal["c", "m"]


class Doc(msgspec.Struct, array_like=True):
    text: str
    when: bytes


class Query(msgspec.Struct, frozen=True):
    """A parsed query: its words, its other runs, and the index terms that every match has."""

    words: tuple[str, ...]
    runs: tuple[str, ...]
    terms: tuple[str, ...]

    @property
    def exact(self) -> bool:
        """Whether having every term is matching: words and runs of one or two characters are terms
        themselves; a longer run's pairs may sit apart in the item, so its candidates are checked."""
        return all(len(run) <= 2 for run in self.runs)

    @property
    def parts(self) -> tuple[str, ...]:
        """What a client highlights: the words and runs as they match (normalised)."""
        return self.words + self.runs


# After case folding: a run of ASCII letters and digits, or a run of any other letters and digits
# (what str.isalnum() accepts; `\w` without the underscore), the two never mixed in one run.
_RUN = re.compile(r"[0-9a-z]+|[^\W_0-9a-z]+")


def _runs(text: str) -> list[str]:
    return _RUN.findall(unicodedata.normalize("NFKC", text).casefold())


def _split(text: str) -> tuple[set[str], list[str]]:
    """The words (ASCII runs) and the other runs of `text`."""
    words, others = set(), []
    for run in _runs(text):
        if run.isascii():
            words.add(run)
        else:
            others.append(run)
    return words, others


def terms_of(text: str) -> set[str]:
    # Once per indexed item, on the projector's path: one pass over the runs, each character and each
    # neighbouring pair (a run zipped with itself one further on) added to one set in C.
    terms: set[str] = set()
    for run in _runs(text):
        if run.isascii():
            terms.add(run)
        else:
            terms.update(run)
            terms.update(map(add, run, run[1:]))
    return terms


def parse(text: str) -> Query | None:
    """None when the query has nothing to search for (only spaces and punctuation)."""
    words, others = _split(text)
    runs = tuple(dict.fromkeys(others))
    terms: set[str] = set(words)
    for run in runs:
        # One character is its own term; longer runs need each neighbouring pair.
        terms |= {run} if len(run) == 1 else {run[i : i + 2] for i in range(len(run) - 1)}
    if not terms:
        return None
    return Query(tuple(sorted(words)), runs, tuple(sorted(terms)))


def matches(query: Query, text: str) -> bool:
    words, others = _split(text)
    return all(w in words for w in query.words) and all(any(r in o for o in others) for r in query.runs)


def indexed_text(text: str, other_party: c.Person | None) -> str:
    name = other_party.name if other_party is not None else None
    return f"{text}\n{name}" if name else text


def comment_text(text: str, author: c.Person) -> str:
    return indexed_text(text, author)


def message_text(content: str, direction: str, sender: c.Person, receiver: c.Person | None) -> str:
    return indexed_text(content, sender if direction == "inbound" else receiver)


# --------------------------------------------------------------------------- applying facts


def _index(tx: Tx, account_id: str, letter: Letter, item_id: str, text: str, time_ms: int, seq: int) -> None:
    dk = key(account_id, letter, item_id)
    doc = tx.get(DOCS, dk, Doc)
    if doc is not None and doc.text == text:
        return
    new = terms_of(text)
    if doc is None:
        at, added = when(time_ms, seq), new
    else:
        old = terms_of(doc.text)
        at, added = doc.when, new - old
    ref = (letter + item_id).encode()
    # A comment of Chinese text has some forty terms: the keys are built here, by hand, from the
    # account's prefix (key(account, term) and key(account, term, at) exactly), and the Tx's methods
    # are looked up once rather than per term.
    base = key(account_id, "")
    tail = SEP + at
    if doc is not None:
        for term in old - new:
            df_key = base + term.encode()
            tx.delete(POSTINGS, df_key + tail)
            tx.add(DF, df_key, -1)
    get, put = tx.get, tx.put
    for df_key in [base + term.encode() for term in added]:
        put(POSTINGS, df_key + tail, ref)
        put(DF, df_key, (get(DF, df_key, int) or 0) + 1)
    put(DOCS, dk, Doc(text, at))


def _comment(tx: Tx, rec: Recorded) -> None:
    f: c.CommentObserved = rec.fact  # type: ignore[assignment]
    text = comment_text(f.text, f.author)
    _index(tx, f.account_id, "c", f.comment_id, text, f.create_time_ms, rec.seq)


def _message(tx: Tx, rec: Recorded) -> None:
    f: c.MessageObserved = rec.fact  # type: ignore[assignment]
    text = message_text(f.content, f.direction, f.sender, f.receiver)
    _index(tx, f.account_id, "m", f.message_id, text, f.create_time_ms, rec.seq)


HANDLERS = {
    c.CommentObserved.type_name(): _comment,
    c.MessageObserved.type_name(): _message,
}


# --------------------------------------------------------------------------- reading


class Hit(msgspec.Struct, frozen=True):
    account_id: str
    letter: Letter
    item_id: str
    when: bytes


def _account_hits(tx: Tx, account_id: str, query: Query, after: bytes | None) -> Iterator[tuple[bytes, Hit]]:
    # Every search that is not a kept page runs this: keys are built from the account's prefix, as
    # _index writes them (key(account, term) and key(account, term, at)), not through key() each time.
    base = key(account_id, "")
    counts = {t: tx.get(DF, base + t.encode(), int) or 0 for t in query.terms}
    driver = min(query.terms, key=lambda t: (counts[t], t))
    if counts[driver] == 0:
        return
    others = [base + t.encode() + SEP for t in query.terms if t != driver]
    exact = query.exact
    prefix = base + driver.encode() + SEP
    postings = tx.dbs[POSTINGS]
    get = tx.txn.get
    for k, ref in scan_after(tx, POSTINGS, prefix, None if after is None else prefix + after, bytes):
        at = k[len(prefix) :]
        if others and not all(get(other + at, None, postings) is not None for other in others):
            continue
        letter, item_id = ref[:1].decode(), ref[1:].decode()
        if not exact:
            doc = tx.get(DOCS, key(account_id, letter, item_id), Doc)
            if doc is None or not matches(query, doc.text):
                continue
        yield at, Hit(account_id, letter, item_id, at)  # type: ignore[arg-type]


def find(tx: Tx, account_ids: Sequence[str], query: Query, after: bytes | None = None) -> Iterator[Hit]:
    """The items of these accounts matching `query`, newest first (inbox order), strictly after `after`
    (the `when` of the previous page's last item)."""
    walks = [_account_hits(tx, a, query, after) for a in account_ids]
    merged = heapq.merge(*walks, key=itemgetter(0)) if len(walks) > 1 else walks[0] if walks else iter(())
    for _, hit in merged:
        yield hit


def position(tx: Tx, account_id: str, letter: Letter, item_id: str) -> bytes | None:
    """An indexed item's place in the order (its `when`), or None when it is not indexed."""
    doc = tx.get(DOCS, key(account_id, letter, item_id), Doc)
    return None if doc is None else doc.when
