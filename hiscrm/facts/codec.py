"""Facts to NATS messages and back: JSON bodies, HisCRM headers, stream metadata.

The body is the fact's own JSON so the NATS CLI shows something readable; everything about the
envelope (type, schema, idempotency key, correlation) travels in headers, and the time and the
sequence come from the stream itself, so a replay sees exactly what a live reader saw.
"""

from __future__ import annotations

import itertools
import uuid
from typing import Any

import msgspec

from hiscrm.facts.base import Fact
from hiscrm.facts.catalogue import BY_TYPE_NAME
from hiscrm.facts.subjects import event_subject
from hiscrm.facts.upcasting import UPCASTERS, Upcasters

MSG_ID = "Nats-Msg-Id"
EVENT = "Hiscrm-Event"
SCHEMA = "Hiscrm-Schema"
CORRELATION = "Hiscrm-Correlation-Id"
CAUSATION = "Hiscrm-Causation-Id"

_encoder = msgspec.json.Encoder()
_decoders: dict[type[Fact], msgspec.json.Decoder[Any]] = {
    cls: msgspec.json.Decoder(cls) for cls in BY_TYPE_NAME.values()
}
_raw_decoder = msgspec.json.Decoder(dict[str, Any])


class UndecodableFact(ValueError):
    """A message on the event stream that is not a fact this release can read."""


class Recorded(msgspec.Struct, frozen=True):
    """A fact as stored: with its stream sequence, append time and envelope headers."""

    seq: int
    time_ms: int
    subject: str
    fact: Fact
    msg_id: str
    correlation_id: str | None = None
    causation_id: str | None = None

    @property
    def type_name(self) -> str:
        return self.fact.type_name()


class Outgoing(msgspec.Struct, frozen=True):
    """A fact ready to publish."""

    subject: str
    payload: bytes
    headers: dict[str, str]
    msg_id: str


_id_prefix = uuid.uuid4().hex[:16]
_id_counter = itertools.count(1)


def new_id() -> str:
    """Unique without a syscall per call: a random per-process prefix and a counter."""
    return f"{_id_prefix}{next(_id_counter):x}"


def encode(
    fact: Fact,
    *,
    msg_id: str | None = None,
    correlation_id: str | None = None,
    causation_id: str | None = None,
) -> Outgoing:
    subject = event_subject(fact.aggregate, fact.aggregate_id, fact.event)
    msg_id = msg_id or new_id()
    headers = {
        MSG_ID: msg_id,
        EVENT: fact.type_name(),
        SCHEMA: str(fact.schema),
        CORRELATION: correlation_id or msg_id,
        CAUSATION: causation_id or correlation_id or msg_id,
    }
    return Outgoing(subject, _encoder.encode(fact), headers, msg_id)


def decode_body(type_name: str | None, schema: str | None, payload: bytes, upcasters: Upcasters = UPCASTERS) -> Fact:
    cls = BY_TYPE_NAME.get(type_name or "")
    if cls is None:
        raise UndecodableFact(f"unknown fact type {type_name!r}")
    try:
        version = int(schema or cls.schema)
    except ValueError:
        raise UndecodableFact(f"{type_name}: schema header {schema!r} is not an integer") from None
    try:
        if version == cls.schema:
            return _decoders[cls].decode(payload)
        if version > cls.schema:
            raise UndecodableFact(f"{type_name} schema {version} is newer than this release reads ({cls.schema})")
        raw = upcasters.upcast(cls.type_name(), version, cls.schema, _raw_decoder.decode(payload))
        return msgspec.convert(raw, cls)
    except (msgspec.DecodeError, msgspec.ValidationError, ValueError) as exc:
        if isinstance(exc, UndecodableFact):
            raise
        raise UndecodableFact(f"{type_name} (schema {version}): {exc}") from None


def decode(seq: int, time_ms: int, subject: str, headers: dict[str, str] | None, payload: bytes) -> Recorded:
    headers = headers or {}
    fact = decode_body(headers.get(EVENT), headers.get(SCHEMA), payload)
    return Recorded(
        seq,
        time_ms,
        subject,
        fact,
        headers.get(MSG_ID, ""),
        headers.get(CORRELATION),
        headers.get(CAUSATION),
    )


def to_json_line(rec: Recorded) -> dict[str, Any]:
    """The shape `hiscrm events` prints and the history API returns."""
    return {
        "seq": rec.seq,
        "time_ms": rec.time_ms,
        "subject": rec.subject,
        "event": rec.type_name,
        "schema": rec.fact.schema,
        "msg_id": rec.msg_id,
        "correlation_id": rec.correlation_id,
        "causation_id": rec.causation_id,
        "data": msgspec.to_builtins(rec.fact),
    }
