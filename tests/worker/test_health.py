"""The crawl-failure rate limit: a run of identical failures is counted and appended only as it doubles."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hiscrm.worker.health import PassFailures


def test_identical_failures_are_counted_and_appended_as_the_run_doubles() -> None:
    log = PassFailures("acc", "w1")
    appended = [f.consecutive for n in range(1, 40) if (f := log.failed("timeout", f"Timeout {n * 1000} ms exceeded"))]
    assert appended == [1, 2, 4, 8, 16, 32]
    other = log.failed("page_error", "the works page did not render")
    assert other is not None and other.consecutive == 40 and other.reason == "the works page did not render"
    log.succeeded()
    again = log.failed("timeout", "Timeout 30000 ms exceeded")
    assert again is not None and again.consecutive == 1


def test_a_long_run_is_appended_again_after_the_repeat_period() -> None:
    log = PassFailures("acc", "w1", repeat_after_s=0.0)
    assert all(log.failed("error", "boom") is not None for _ in range(5))


@given(st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=60))
def test_every_change_of_reason_is_appended_and_counts_only_grow(reasons: list[str]) -> None:
    log = PassFailures("acc", "w1")
    facts = [(reason, log.failed("error", reason)) for reason in reasons]
    previous = None
    for n, (reason, fact) in enumerate(facts, start=1):
        if reason != previous:
            assert fact is not None
        if fact is not None:
            assert fact.consecutive == n and fact.reason == reason
        previous = reason
