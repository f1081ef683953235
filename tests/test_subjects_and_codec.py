"""Subjects refuse unsafe ids; every fact survives the wire; old schemas are upcast."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hiscrm.errors import InvalidToken
from hiscrm.facts import catalogue as c
from hiscrm.facts import codec, subjects
from hiscrm.facts.upcasting import Upcasters

ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-=", min_size=1, max_size=40)
for struct in (c.Person, c.Profile, c.ContentStats, c.PassCounts):
    st.register_type_strategy(struct, st.builds(struct))


@pytest.mark.parametrize(
    ("bad", "says"),
    [("a.b", "dot"), ("a*", "'*'"), ("x>", "'>'"), ("a b", "whitespace"), ("a\tb", "whitespace"), ("", "non-empty")],
)
def test_unsafe_ids_are_refused_with_the_reason(bad: str, says: str) -> None:
    with pytest.raises(InvalidToken, match=says):
        subjects.event_subject("account", bad, "created")
    with pytest.raises(InvalidToken, match=says):
        subjects.command_subject("w1", bad, "login_start")


def test_subjects_have_the_designed_shape() -> None:
    assert subjects.event_subject("inbox", "acc1", "comment_observed") == "hiscrm.evt.inbox.acc1.comment_observed"
    assert subjects.aggregate_filter("account", "acc1") == "hiscrm.evt.account.acc1.*"
    assert subjects.command_subject("w1", "acc1", "reply_send") == "hiscrm.cmd.w1.acc1.reply_send"
    assert subjects.config_key("w1", "acc1") == "w1.acc1"
    assert subjects.parse_event_subject("hiscrm.evt.login.L1.succeeded") == ("login", "L1", "succeeded")
    with pytest.raises(InvalidToken):
        subjects.event_subject("nonsense", "a", "b")


def test_the_catalogue_names_every_fact_of_the_design() -> None:
    expected = {
        "worker": {"registered", "stopped", "went_offline"},
        "account": {
            "created", "updated", "deleted", "assigned", "unassigned", "session_expired", "blocked",
            "logged_out", "crawl_requested", "pinned", "crawl_failed", "adapter_drift",
        },
        "login": {
            "requested", "qrcode_ready", "qrcode_refreshed", "verification_required", "succeeded", "failed", "expired",
            "sms_code_submitted", "sms_code_rejected",
        },
        "inbox": {
            "content_observed", "comment_observed", "conversation_observed", "message_observed",
            "notification_observed", "snapshot_synced", "conversation_read", "conversation_pinned",
            "conversation_unpinned", "conversation_muted", "conversation_unmuted", "conversation_deleted",
            "message_read", "message_deleted", "message_recalled", "message_status_changed", "comment_read",
            "content_read", "notification_read",
        },
        "reply": {"requested", "sent", "failed"},
    }  # fmt: skip
    found: dict[str, set[str]] = {}
    for cls in c.FACT_TYPES:
        found.setdefault(cls.aggregate, set()).add(cls.event)
    assert found == expected


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_every_fact_round_trips_through_the_codec(data: st.DataObject) -> None:
    cls = data.draw(st.sampled_from(c.FACT_TYPES))
    fact = data.draw(st.builds(cls, **{cls.id_field: ids}))
    out = codec.encode(fact, correlation_id="corr-1")
    assert out.subject == subjects.event_subject(cls.aggregate, fact.aggregate_id, cls.event)
    assert out.headers[codec.EVENT] == cls.type_name()
    assert out.headers[codec.SCHEMA] == str(cls.schema)
    assert out.headers[codec.CORRELATION] == "corr-1"
    rec = codec.decode(41, 1_700_000_000_000, out.subject, out.headers, out.payload)
    assert rec.fact == fact
    assert (rec.seq, rec.msg_id, rec.correlation_id) == (41, out.msg_id, "corr-1")
    # The body is plain JSON that the NATS CLI shows as it is.
    assert isinstance(msgspec.json.decode(out.payload), dict)


def test_old_schema_versions_are_upcast_on_read() -> None:
    steps = Upcasters()

    @steps.register("account.created", 0)
    def rename_name(raw: dict) -> dict:  # version 0 called the field "name" and had no platform
        raw["account_name"] = raw.pop("name")
        raw.setdefault("platform", "douyin")
        return raw

    old = msgspec.json.encode({"account_id": "a1", "name": "老账号"})
    fact = codec.decode_body("account.created", "0", old, steps)
    assert fact == c.AccountCreated(account_id="a1", platform="douyin", account_name="老账号")
    with pytest.raises(codec.UndecodableFact, match="no upcaster"):
        codec.decode_body("account.updated", "0", b"{}", steps)


@pytest.mark.parametrize(
    ("event", "schema", "payload", "says"),
    [
        ("no.such", "1", b"{}", "unknown fact type"),
        (None, "1", b"{}", "unknown fact type"),
        ("account.created", "x", b"{}", "not an integer"),
        ("account.created", "9", b"{}", "newer"),
        ("account.created", "1", b"{not json", "account.created"),
        ("account.created", "1", b'{"account_id": 5}', "account.created"),
    ],
)
def test_undecodable_messages_say_why(event: str | None, schema: str, payload: bytes, says: str) -> None:
    with pytest.raises(codec.UndecodableFact, match=says):
        codec.decode_body(event, schema, payload)
