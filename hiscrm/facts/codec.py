"""Facts to NATS messages and back: JSON bodies, HisCRM headers, stream metadata.

The body is the fact's own JSON so the NATS CLI shows something readable; everything about the
envelope (type, schema, idempotency key, correlation) travels in headers, and the time and the
sequence come from the stream itself, so a replay sees exactly what a live reader saw.
"""

from __future__ import annotations

import itertools
import uuid
from typing import Any, ClassVar

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
# (Hiscrm-Event, Hiscrm-Schema) as they appear in headers -> the decoder, for facts at the current schema:
# nearly every fact read is one, and one lookup replaces finding the class, parsing and comparing the schema.
_current: dict[tuple[str | None, str | None], msgspec.json.Decoder[Any]] = {
    (name, str(cls.schema)): _decoders[cls] for name, cls in BY_TYPE_NAME.items()
}


class UndecodableFact(ValueError):
    """A message on the event stream that is not a fact this release can read."""


class HeaderBlock:
    """A delivery's raw `NATS/1.0` header block; a header is found when asked for, not parsed up front.

    Replaying the stream reads millions of these and usually needs two headers of five, so
    looking a name up in the bytes beats building a dict per message.
    """

    __slots__ = ("block",)
    _keys: ClassVar[dict[str, bytes]] = {}

    def __init__(self, block: bytes) -> None:
        self.block = block

    def get(self, name: str, default: str | None = None) -> str | None:
        key = self._keys.get(name)
        if key is None:
            key = self._keys[name] = b"\r\n" + name.encode() + b":"
        start = self.block.find(key)
        if start < 0:
            return default
        start += len(key)
        return self.block[start : self.block.find(b"\r\n", start)].strip().decode("utf-8", "replace")

    def as_dict(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for line in self.block.split(b"\r\n")[1:]:
            if line:
                name, _, value = line.partition(b":")
                out[name.decode()] = value.strip().decode("utf-8", "replace")
        return out

    def __eq__(self, other: object) -> bool:
        return isinstance(other, HeaderBlock) and other.block == self.block

    __hash__ = None  # type: ignore[assignment]


Headers = dict[str, str] | HeaderBlock


def headers_dict(headers: Headers | None) -> dict[str, str]:
    if headers is None:
        return {}
    return headers.as_dict() if isinstance(headers, HeaderBlock) else dict(headers)


class Recorded(msgspec.Struct, frozen=True):
    """A fact as stored: with its stream sequence, append time and envelope headers."""

    seq: int
    time_ms: int
    subject: str
    fact: Fact
    headers: Any = None

    @property
    def type_name(self) -> str:
        return self.fact.type_name()

    @property
    def msg_id(self) -> str:
        return (self.headers.get(MSG_ID) if self.headers is not None else None) or ""

    @property
    def correlation_id(self) -> str | None:
        return self.headers.get(CORRELATION) if self.headers is not None else None

    @property
    def causation_id(self) -> str | None:
        return self.headers.get(CAUSATION) if self.headers is not None else None


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
    current = _current.get((type_name, schema))
    if current is not None:
        try:
            return current.decode(payload)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise UndecodableFact(f"{type_name} (schema {schema}): {exc}") from None
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


def decode(seq: int, time_ms: int, subject: str, headers: Headers | None, payload: bytes) -> Recorded:
    if headers is None:
        raise UndecodableFact("no headers: a fact carries its type in Hiscrm-Event")
    fact = decode_body(headers.get(EVENT), headers.get(SCHEMA), payload)
    return Recorded(seq, time_ms, subject, fact, headers)


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
