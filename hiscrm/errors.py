"""Errors a user can act on. The CLI prints them without a traceback."""


class HiscrmError(Exception):
    """Base of every error whose message is meant for the user."""


class InvalidToken(HiscrmError, ValueError):
    """An id cannot be used as a subject token."""


class ConcurrencyConflict(HiscrmError):
    """Another writer appended to the aggregate since it was read."""

    def __init__(self, subject_filter: str, expected: int, detail: str = "") -> None:
        self.subject_filter = subject_filter
        self.expected = expected
        super().__init__(
            f"concurrent append on {subject_filter}: expected last sequence {expected}"
            + (f" ({detail})" if detail else "")
        )


class BrokerUnavailable(HiscrmError):
    """No NATS server answers at the configured URLs."""


class StoreUnavailable(HiscrmError):
    """The event stream acknowledged no append in time: no stream leader (an election, a restart) or no broker."""
