"""Every acknowledged append, seen on the wire: which Nats-Msg-Id the stream acknowledged at which sequence.

The facts are appended by other processes (workers, coordinator), so the soak cannot ask them what
they were told. It listens instead: a JetStream publish carries its reply inbox, and the stream's
acknowledgement is a message to that inbox with the sequence. Joining the two gives (msg id, seq)
for every append the stream acknowledged, whoever made it. One tap connection per node, because a
node the soak restarts must not blind it; copies from several nodes agree and are joined once.

Inboxes: with least privilege each user's inbox is `_INBOX.<user>`; a request's reply subject adds
two tokens (nats-py's muxed `<nuid>.<n>`), while a consumer's delivery subject adds one, so
`_INBOX.*.*.*` takes acknowledgements without every stream delivery to every reader.
"""

from __future__ import annotations

import json

from hiscrm.facts.codec import MSG_ID, HeaderBlock
from hiscrm.facts.subjects import ALL_EVENTS, EVENTS_STREAM
from hiscrm.store.connection import HiscrmClient

REPLIES = "_INBOX.*.*.*"
_STREAM_MARK = f'"stream":"{EVENTS_STREAM}"'.encode()


class AckTap:
    def __init__(self) -> None:
        self.acked: dict[str, int] = {}  # msg id -> the sequence its acknowledgement named
        self.contradictions: list[tuple[str, int, int]] = []  # one msg id acknowledged at two sequences
        self._publishes: dict[bytes, str] = {}  # reply inbox -> msg id, until its acknowledgement
        self._early: dict[bytes, int] = {}  # acknowledgements that overtook their publish's copy
        self._joined: set[bytes] = set()  # reply inboxes done: the other nodes' copies are ignored

    async def attach(self, nc: HiscrmClient) -> None:
        for subject, sink in ((ALL_EVENTS, self._on_publish), (REPLIES, self._on_reply)):
            sub = await nc.subscribe(subject)
            nc.raw_sinks[sub._id] = sink

    def _on_publish(self, subject: bytes, reply: bytes, data: bytes, headers: bytes) -> None:
        msg_id = HeaderBlock(headers).get(MSG_ID) if headers else None
        if not reply or not msg_id or reply in self._joined:
            return
        seq = self._early.pop(reply, None)
        if seq is None:
            self._publishes[reply] = msg_id
        else:
            self._record(reply, msg_id, seq)

    def _on_reply(self, subject: bytes, reply: bytes, data: bytes, headers: bytes) -> None:
        if _STREAM_MARK not in data[:64] or subject in self._joined:
            return
        answer = json.loads(data)
        seq = answer.get("seq")
        if "error" in answer or not seq:
            return
        msg_id = self._publishes.pop(subject, None)
        if msg_id is None:
            self._early[subject] = seq
        else:
            self._record(subject, msg_id, seq)

    def _record(self, reply: bytes, msg_id: str, seq: int) -> None:
        self._joined.add(reply)
        known = self.acked.setdefault(msg_id, seq)
        if known != seq:
            self.contradictions.append((msg_id, known, seq))

    @property
    def unjoined(self) -> int:
        """Acknowledgements whose publish no tap saw (a tap was reconnecting): not checked, only counted."""
        return len(self._early)
