"""The adapter's pure parts: path tails, the time forms public captures show, and the doctor's field
check; each against its invariant."""

from __future__ import annotations

import datetime as dt

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from hiscrm.platforms.capture import matches
from hiscrm.platforms.douyin import expectations as x
from hiscrm.platforms.douyin import parse
from hiscrm.platforms.douyin.doctor import fields_missing
from hiscrm.sandbox import ids

segment = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_", min_size=1, max_size=8)
ENDPOINTS = [e.value for e in x.EXPECTATIONS if e.kind == "endpoint"]


@given(prefix=st.lists(segment, max_size=4), tail=st.sampled_from(ENDPOINTS), slash=st.booleans())
def test_a_tail_matches_behind_any_prefix_with_or_without_its_last_slash(
    prefix: list[str], tail: str, slash: bool
) -> None:
    path = "/" + "/".join(prefix) + tail if prefix else tail
    assert matches(path.rstrip("/") + ("/" if slash else ""), tail)
    assert not matches(path.rstrip("/") + "/more", tail)  # a longer path is another endpoint


def test_no_endpoint_tail_swallows_another() -> None:
    """A reply list is not a reply, a notice detail is not the notice list: tails are distinct."""
    for a in ENDPOINTS:
        for b in ENDPOINTS:
            if a != b:
                assert not matches(b, a), (a, b)


@given(st.integers(min_value=1_500_000_000, max_value=2_100_000_000))
def test_the_item_list_display_time_reads_back_to_the_minute(ts: int) -> None:
    assert parse.display_time_ms(ids.display_time(ts)) == ts // 60 * 60 * 1000
    assert parse.display_time_ms(ids.iso_time(ts)) is None  # the drift variant is not read as a time


@given(st.integers(min_value=1_500_000_000_000, max_value=2_100_000_000_000))
def test_im_times_in_every_public_form_agree(ms: int) -> None:
    iso = dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat(timespec="milliseconds")
    seconds = ms // 1000 * 1000
    assert parse.im_time_ms(ms * 1000) == parse.im_time_ms(ms) == parse.im_time_ms(str(ms)) == ms
    assert parse.im_time_ms(ms // 1000) == seconds
    assert parse.im_time_ms(iso) == ms
    assert parse.im_time_ms("yesterday") is None and parse.im_time_ms(None) is None


def test_fields_missing_names_what_an_answer_lacks() -> None:
    answer = {"user_list": [{"user_id": "1", "user": {"nickname": "a"}}, {"user_id": "2", "user": {}}], "x": None}
    assert fields_missing(answer, ("user_list[].user_id", "user_list[].user.nickname", "x", "y")) == [
        "user_list[].user.nickname",
        "x",
        "y",
    ]
    assert fields_missing({"user_list": []}, ("user_list[].user_id",)) == []


@given(st.text(max_size=30))
def test_message_text_reads_the_sdk_content_or_keeps_plain_text(text: str) -> None:
    assert parse.message_text(msgspec.json.encode({"text": text, "aweType": 700}).decode()) == text
    assert parse.message_text({"text": text}) == text
