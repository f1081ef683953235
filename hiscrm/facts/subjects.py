"""The one place where subjects, stream names, bucket names and keys are built.

Ids become subject tokens and KV key parts, so they are validated here before anything is
published: a token with `.`, `*`, `>` or whitespace would silently change which subjects a
message matches, so it is refused with an error that names the id and the offending character.
"""

from __future__ import annotations

import re

from hiscrm.errors import InvalidToken

EVENTS_STREAM = "HISCRM_EVENTS"
COMMANDS_STREAM = "HISCRM_COMMANDS"
CONFIG_BUCKET = "hiscrm_config"
PRESENCE_BUCKET = "hiscrm_presence"
KEYS_BUCKET = "hiscrm_keys"
PROXIES_BUCKET = "hiscrm_proxies"
# Reserved keys in the presence bucket; worker ids may not start with "_".
COORDINATOR_LEASE = "_coordinator"
# The leader's view of workers and unplaceable accounts, for the API; expires with the bucket's max age.
COORDINATOR_STATUS = "_coordinator_status"

EVENT_PREFIX = "hiscrm.evt"
COMMAND_PREFIX = "hiscrm.cmd"
ALL_EVENTS = f"{EVENT_PREFIX}.>"
ALL_COMMANDS = f"{COMMAND_PREFIX}.>"

AGGREGATES = ("worker", "account", "login", "inbox", "reply")
COMMANDS = ("login_start", "reply_send", "crawl_now", "login_sms_code")

# Also the KV key alphabet minus `.`, so a token is valid both in subjects and in bucket keys.
_TOKEN = re.compile(r"[A-Za-z0-9_=\-]{1,128}")
_FORBIDDEN = {".": "a dot", "*": "a '*'", ">": "a '>'"}


def token(value: str, what: str = "id") -> str:
    """Return `value` if it can be one subject token, else raise InvalidToken naming the problem."""
    if isinstance(value, str) and _TOKEN.fullmatch(value):
        return value
    if not isinstance(value, str) or not value:
        raise InvalidToken(f"{what} must be a non-empty string, got {value!r}")
    if len(value) > 128:
        raise InvalidToken(f"{what} {value[:40]!r}… is longer than 128 characters")
    for ch in value:
        if ch in _FORBIDDEN:
            raise InvalidToken(
                f"{what} {value!r} contains {_FORBIDDEN[ch]}, which NATS reads as a subject separator or wildcard"
            )
        if ch.isspace():
            raise InvalidToken(f"{what} {value!r} contains whitespace")
    bad = next(ch for ch in value if not _TOKEN.fullmatch(ch))
    raise InvalidToken(f"{what} {value!r} contains {bad!r}; ids may use only letters, digits, '_', '-' and '='")


def event_subject(aggregate: str, aggregate_id: str, event: str) -> str:
    if aggregate not in AGGREGATES:
        raise InvalidToken(f"unknown aggregate {aggregate!r}; expected one of {', '.join(AGGREGATES)}")
    return f"{EVENT_PREFIX}.{aggregate}.{token(aggregate_id, aggregate + ' id')}.{event}"


def aggregate_filter(aggregate: str, aggregate_id: str) -> str:
    """All facts of one aggregate instance: the subject that optimistic concurrency is checked over."""
    return f"{EVENT_PREFIX}.{aggregate}.{token(aggregate_id, aggregate + ' id')}.*"


def aggregate_type_filter(aggregate: str) -> str:
    return f"{EVENT_PREFIX}.{aggregate}.*.*"


def event_type_filter(aggregate: str, event: str) -> str:
    """One kind of fact, of every instance of the aggregate."""
    if aggregate not in AGGREGATES:
        raise InvalidToken(f"unknown aggregate {aggregate!r}; expected one of {', '.join(AGGREGATES)}")
    return f"{EVENT_PREFIX}.{aggregate}.*.{token(event, 'event')}"


def parse_event_subject(subject: str) -> tuple[str, str, str]:
    """(aggregate, aggregate_id, event) of a fact subject."""
    parts = subject.split(".")
    if len(parts) != 5 or parts[0] != "hiscrm" or parts[1] != "evt":
        raise InvalidToken(f"{subject!r} is not a fact subject ({EVENT_PREFIX}.<aggregate>.<id>.<event>)")
    return parts[2], parts[3], parts[4]


def command_subject(worker_id: str, account_id: str, command: str) -> str:
    if command not in COMMANDS:
        raise InvalidToken(f"unknown command {command!r}; expected one of {', '.join(COMMANDS)}")
    return f"{COMMAND_PREFIX}.{token(worker_id, 'worker id')}.{token(account_id, 'account id')}.{command}"


def worker_commands(worker_id: str) -> str:
    return f"{COMMAND_PREFIX}.{token(worker_id, 'worker id')}.>"


def config_key(worker_id: str, account_id: str) -> str:
    return f"{token(worker_id, 'worker id')}.{token(account_id, 'account id')}"


def account_config_keys(account_id: str) -> str:
    """The config key of an account, under whichever worker holds it."""
    return f"*.{token(account_id, 'account id')}"


def worker_config_keys(worker_id: str) -> str:
    return f"{token(worker_id, 'worker id')}.*"


def worker_reader(worker_id: str, what: str) -> str:
    """The one consumer name under which a worker reads `what` (`inbox` facts, its `config` keys): the only
    name its permissions let it create and delete, so it can leave no other consumer and remove no one else's."""
    return f"worker-{worker_token(worker_id)}-{what}"


def kv_subject(bucket: str, key: str) -> str:
    """The stream subject behind a KV key, for writes the KV client cannot make (per-message TTL on update)."""
    for part in key.split("."):
        token(part, f"{bucket} key part")
    return f"$KV.{bucket}.{key}"


def presence_key(worker_id: str) -> str:
    return worker_token(worker_id)


def worker_token(worker_id: str) -> str:
    """A worker id: a token that does not start with '_', which marks the presence bucket's reserved keys."""
    token(worker_id, "worker id")
    if worker_id.startswith("_"):
        raise InvalidToken(f"worker id {worker_id!r} may not start with '_'")
    return worker_id
