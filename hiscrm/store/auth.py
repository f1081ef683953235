"""Least privilege on the broker: one nats-server user per role, each allowed only the subjects its job needs.

`ensure_auth(data_dir, workers)` keeps `<data-dir>/auth/`: `users.json` (the passwords, generated once),
`auth.conf` (an `authorization { users = [...] }` block for nats-server to include) and one
credentials file per user under `creds/`, which a service names with `HISCRM_NATS_CREDS` or
`--nats-creds`. Every file is readable by its owner only. A new worker means a new user: run
`hiscrm auth --worker W` (or call `ensure_auth` again) and reload the server (SIGHUP), which keeps
every connection.

Beside them: `sys`, a user of the server's system account (`$SYS`), for the server reports of the
NATS CLI, which see no stream data; and, given the servers' URLs, one NATS CLI context per user
(`nats/context/hiscrm-<user>.json`, the files `nats context save` writes), so with
`XDG_CONFIG_HOME=<data-dir>/auth` an operator runs `nats --context hiscrm-admin stream ls`.

What the server can enforce is what the subjects say. Worker ids appear in presence keys, config
keys, command subjects and `worker` facts, so a worker is held to its own there. Account, login
and reply ids are not tied to a worker in any subject, so a worker may append the kinds of facts a
worker makes (observations, login steps, reply outcomes, account trouble) for any account; the
coordinator and the projections remain the judges of whether it held that account. Reading is held
the same way: a worker creates and deletes consumers under its own fixed names only (its inbox
history, its config keys; see `worker_reader`), so it can leave no other consumer on a stream and
remove no one else's.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import msgspec

from hiscrm.errors import HiscrmError
from hiscrm.facts.catalogue import FACT_TYPES
from hiscrm.facts.subjects import (
    COMMAND_PREFIX,
    COMMANDS_STREAM,
    CONFIG_BUCKET,
    COORDINATOR_LEASE,
    COORDINATOR_STATUS,
    EVENT_PREFIX,
    EVENTS_STREAM,
    KEYS_BUCKET,
    PRESENCE_BUCKET,
    PROXIES_BUCKET,
    worker_reader,
    worker_token,
)
from hiscrm.private import write_private

ROLES = ("admin", "coordinator", "projector", "api")
SYSTEM_USER = "sys"  # in the system account: server reports and connections, none of HisCRM's streams
SYSTEM_ACCOUNT = "$SYS"
CONTEXT_PREFIX = "hiscrm-"
PID_FILE_NAME = "nats-server.pid"  # beside the embedded broker's config, so `hiscrm auth` can make it reload
WORKER_PREFIX = "worker-"
API = "$JS.API"


class Credentials(msgspec.Struct, frozen=True):
    user: str
    password: str

    @property
    def inbox_prefix(self) -> str:
        """Each user gets replies and deliveries under its own inbox prefix, so none can read another's."""
        return f"_INBOX.{self.user}"


def read_credentials(path: Path) -> Credentials:
    try:
        return msgspec.json.decode(path.read_bytes(), type=Credentials)
    except FileNotFoundError:
        raise HiscrmError(f"no NATS credentials file at {path}") from None
    except msgspec.DecodeError as exc:
        raise HiscrmError(f"{path} is not a HisCRM credentials file: {exc}") from None


class Permissions(msgspec.Struct, frozen=True):
    publish: list[str]
    subscribe: list[str]


# ---------------------------------------------------------------------------------------------- subjects


def _events(aggregate: str, names: Iterable[str], aggregate_id: str = "*") -> list[str]:
    return [f"{EVENT_PREFIX}.{aggregate}.{aggregate_id}.{name}" for name in names]


def _event_names(aggregate: str) -> list[str]:
    return [cls.event for cls in FACT_TYPES if cls.aggregate == aggregate]


# The IM-state changes the API records on a team member's behalf: everything in `inbox` a worker does not observe.
IM_STATE_EVENTS = [
    name for name in _event_names("inbox") if not name.endswith("_observed") and name != "snapshot_synced"
]
WORKER_INBOX_EVENTS = [name for name in _event_names("inbox") if name not in IM_STATE_EVENTS]
WORKER_LOGIN_EVENTS = ["qrcode_ready", "qrcode_refreshed", "verification_required", "sms_code_rejected"]
WORKER_LOGIN_EVENTS += ["succeeded", "failed"]


def _kv(bucket: str, key: str) -> str:
    return f"$KV.{bucket}.{key}"


def _stream_info(*streams: str) -> list[str]:
    return [f"{API}.STREAM.INFO.{s}" for s in streams]


def _read(stream: str, filter_subject: str = ">", name: str = "*") -> list[str]:
    """An ordered consumer (hiscrm/store/feed.py) on `stream`, its filter checked in the create subject;
    with `name`, only a consumer of that name can be created and deleted."""
    return [
        f"{API}.CONSUMER.CREATE.{stream}.{name}.{filter_subject}",
        f"{API}.CONSUMER.DELETE.{stream}.{name}",
        f"$JS.FC.{stream}.{name}.>",
    ]


def _read_all(stream: str) -> list[str]:
    # Several filters at once (the coordinator's feed) use the create subject without a filter.
    return [f"{API}.CONSUMER.CREATE.{stream}.*", *_read(stream)]


def _kv_get(bucket: str, keys: str = ">") -> list[str]:
    return [f"{API}.DIRECT.GET.KV_{bucket}.{_kv(bucket, keys)}"]


def _last_fact(*subject_filters: str) -> list[str]:
    """The newest fact matching a filter, by direct get with the filter in the subject (EventStore.last_message)."""
    return [f"{API}.DIRECT.GET.{EVENTS_STREAM}.{f}" for f in subject_filters]


def _kv_nats_py_watch(bucket: str) -> list[str]:
    # nats-py's own watcher (KeyValue.keys(), used by the admin API) names neither consumer nor filter.
    return [f"{API}.CONSUMER.CREATE.KV_{bucket}", f"{API}.CONSUMER.INFO.KV_{bucket}.*", *_read(f"KV_{bucket}")]


def _inbox(user: str) -> list[str]:
    return [f"_INBOX.{user}.>"]


def role_permissions(user: str) -> Permissions:
    """What `user` (a role in ROLES, or `worker-<id>`) may publish and subscribe to."""
    if user == "admin":
        return Permissions(publish=[">"], subscribe=[">"])
    if user == "projector":
        return Permissions(publish=[*_stream_info(EVENTS_STREAM), *_read_all(EVENTS_STREAM)], subscribe=_inbox(user))
    if user == "api":
        return Permissions(
            publish=[
                *_events("inbox", IM_STATE_EVENTS),
                *_events("login", ["requested", "sms_code_submitted"]),
                *_events("reply", ["requested"]),
                *_events("account", ["created", "updated", "deleted", "logged_out", "crawl_requested", "pinned"]),
                _kv(KEYS_BUCKET, "*"),
                _kv(PROXIES_BUCKET, "*"),
                *_stream_info(EVENTS_STREAM, f"KV_{KEYS_BUCKET}", f"KV_{PROXIES_BUCKET}", f"KV_{PRESENCE_BUCKET}"),
                *_read_all(EVENTS_STREAM),
                *_last_fact(">"),
                *_kv_get(KEYS_BUCKET),
                *_kv_get(PROXIES_BUCKET),
                *_kv_get(PRESENCE_BUCKET),
                *_kv_nats_py_watch(PROXIES_BUCKET),
            ],
            subscribe=_inbox(user),
        )
    if user == "coordinator":
        buckets = [f"KV_{b}" for b in (CONFIG_BUCKET, PRESENCE_BUCKET, PROXIES_BUCKET, KEYS_BUCKET)]
        return Permissions(
            publish=[
                *_events("worker", ["went_offline"]),
                *_events("account", ["assigned", "unassigned", "updated"]),
                *_events("login", ["failed", "expired"]),
                *_events("reply", ["failed"]),
                f"{COMMAND_PREFIX}.>",
                _kv(CONFIG_BUCKET, ">"),
                _kv(PRESENCE_BUCKET, COORDINATOR_LEASE),
                _kv(PRESENCE_BUCKET, COORDINATOR_STATUS),
                _kv(KEYS_BUCKET, "*"),
                *_stream_info(EVENTS_STREAM, COMMANDS_STREAM, *buckets),
                *_read_all(EVENTS_STREAM),
                *_last_fact(">"),
                *(p for b in buckets for p in _read(b)),
                *(p for b in (CONFIG_BUCKET, PRESENCE_BUCKET, PROXIES_BUCKET, KEYS_BUCKET) for p in _kv_get(b)),
            ],
            subscribe=_inbox(user),
        )
    if user.startswith(WORKER_PREFIX):
        return worker_permissions(user[len(WORKER_PREFIX) :])
    raise HiscrmError(f"unknown NATS user {user!r}: expected one of {', '.join(ROLES)} or {WORKER_PREFIX}<id>")


def worker_permissions(worker_id: str) -> Permissions:
    w = worker_token(worker_id)
    durable = f"worker-{w}"  # hiscrm/worker/commands.py names its durable consumer so
    config_reader, inbox_reader = worker_reader(w, "config"), worker_reader(w, "inbox")
    return Permissions(
        publish=[
            *_events("worker", ["registered", "stopped"], w),
            *_events("inbox", WORKER_INBOX_EVENTS),
            *_events("login", WORKER_LOGIN_EVENTS),
            *_events("reply", ["sent", "failed"]),
            *_events("account", ["session_expired", "blocked", "crawl_failed"]),
            _kv(PRESENCE_BUCKET, w),
            *_stream_info(EVENTS_STREAM, COMMANDS_STREAM, *(f"KV_{b}" for b in (CONFIG_BUCKET, PRESENCE_BUCKET))),
            *_stream_info(f"KV_{KEYS_BUCKET}"),
            # Its own config keys only: the watch's filter is checked in the create subject.
            *_read(f"KV_{CONFIG_BUCKET}", _kv(CONFIG_BUCKET, f"{w}.*"), config_reader),
            *_kv_get(CONFIG_BUCKET, f"{w}.*"),
            # Account keys carry no worker id; they are sealed with the master key the worker holds anyway.
            *_kv_get(KEYS_BUCKET, "*"),
            # An account's inbox history (its seen index after a reassignment), under its one name; the
            # filter cannot be widened: the server refuses a body whose filter differs from the subject's.
            *_read(EVENTS_STREAM, f"{EVENT_PREFIX}.inbox.*.*", inbox_reader),
            # Whether a redelivered reply command was already settled: no consumer at all.
            *_last_fact(*_events("reply", ["sent", "failed"])),
            # Its own commands: a durable pull consumer whose filter is its own subjects.
            f"{API}.CONSUMER.INFO.{COMMANDS_STREAM}.{durable}",
            f"{API}.CONSUMER.CREATE.{COMMANDS_STREAM}.{durable}.{COMMAND_PREFIX}.{w}.>",
            f"{API}.CONSUMER.MSG.NEXT.{COMMANDS_STREAM}.{durable}",
            f"$JS.ACK.{COMMANDS_STREAM}.{durable}.>",
        ],
        subscribe=_inbox(f"{WORKER_PREFIX}{w}"),
    )


# ---------------------------------------------------------------------------------------------- files


def render_authorization(users: dict[str, str]) -> str:
    """The nats-server `authorization` block for `users` (name -> password), and the system account's user.

    The roles stay in the global account, where HisCRM's streams have always been; naming the system
    account's user in `accounts` leaves the global account and its JetStream as they were."""
    entries = []
    for user, password in sorted(users.items()):
        if user == SYSTEM_USER:
            continue
        perms = role_permissions(user)
        publish, subscribe = list(dict.fromkeys(perms.publish)), list(dict.fromkeys(perms.subscribe))
        entries.append(
            "    {\n"
            f"      user: {json.dumps(user)}\n"
            f"      password: {json.dumps(password)}\n"
            "      permissions: {\n"
            f"        publish: {{ allow: {json.dumps(publish)} }}\n"
            f"        subscribe: {{ allow: {json.dumps(subscribe)} }}\n"
            "      }\n"
            "    }"
        )
    system = ""
    if SYSTEM_USER in users:
        sys_user = f"{{ user: {json.dumps(SYSTEM_USER)}, password: {json.dumps(users[SYSTEM_USER])} }}"
        system = f"accounts {{\n  {SYSTEM_ACCOUNT} {{ users = [ {sys_user} ] }}\n}}\n"
    return (
        "# Generated by `hiscrm auth` from hiscrm/store/auth.py; regenerate rather than edit.\n"
        "authorization {\n  users = [\n" + "\n".join(entries) + "\n  ]\n}\n" + system
    )


def render_context(creds: Credentials, urls: Sequence[str]) -> bytes:
    """A NATS CLI context for `creds`: the JSON `nats context save` writes (jsm.go natscontext), every field."""
    context = {
        "description": f"HisCRM {creds.user} (written by hiscrm auth)",
        "url": ",".join(urls),
        "socks_proxy": "",
        "token": "",
        "user": creds.user,
        "password": creds.password,
        "creds": "",
        "nkey": "",
        "cert": "",
        "key": "",
        "ca": "",
        "nsc": "",
        "jetstream_domain": "",
        "jetstream_api_prefix": "",
        "jetstream_event_prefix": "",
        # Replies come back under the user's own inbox prefix, the only inbox it may subscribe to.
        "inbox_prefix": "" if creds.user == SYSTEM_USER else creds.inbox_prefix,
        "user_jwt": "",
        "user_seed": "",
        "color_scheme": "",
        "tls_first": False,
        "windows_cert_store": "",
        "windows_cert_match_by": "",
        "windows_cert_match": "",
        "windows_ca_certs_match": None,
    }
    return json.dumps(context, indent=2).encode()


@dataclass(frozen=True)
class AuthSetup:
    """The broker include and every user's credentials, as `ensure_auth` left them."""

    dir: Path
    users: dict[str, Credentials]

    @property
    def include(self) -> Path:
        return self.dir / "auth.conf"

    def creds_path(self, user: str) -> Path:
        return self.dir / "creds" / f"{user}.json"

    @property
    def contexts_home(self) -> Path:
        """What XDG_CONFIG_HOME names for the NATS CLI to find the contexts by name."""
        return self.dir

    def context_name(self, user: str) -> str:
        return CONTEXT_PREFIX + user

    def context_path(self, user: str) -> Path:
        """Also usable as is: `nats --context <this path>`."""
        return self.contexts_home / "nats" / "context" / f"{self.context_name(user)}.json"

    def role(self, role: str) -> Credentials:
        try:
            return self.users[role]
        except KeyError:
            raise HiscrmError(f"no NATS user {role!r} in {self.dir}; run `hiscrm auth`") from None

    def worker(self, worker_id: str) -> Credentials:
        return self.role(WORKER_PREFIX + worker_token(worker_id))


def auth_dir(data_dir: Path) -> Path:
    return (data_dir / "auth").resolve()


def ensure_auth(data_dir: Path, workers: Iterable[str] = (), urls: Sequence[str] = ()) -> AuthSetup:
    """Users for every role, the system user and `workers` (kept across calls, passwords generated once);
    files rewritten, and with the servers' `urls` a NATS CLI context per user."""
    root = auth_dir(data_dir)
    store = root / "users.json"
    try:
        passwords: dict[str, str] = json.loads(store.read_text())
    except FileNotFoundError:
        passwords = {}
    wanted = [*ROLES, SYSTEM_USER, *(WORKER_PREFIX + worker_token(w) for w in workers)]
    for user in wanted:
        passwords.setdefault(user, secrets.token_urlsafe(24))
    write_private(store, json.dumps(passwords, indent=2, sort_keys=True).encode())
    write_private(root / "auth.conf", render_authorization(passwords).encode())
    setup = AuthSetup(root, {user: Credentials(user, pw) for user, pw in passwords.items()})
    for user, creds in setup.users.items():
        write_private(setup.creds_path(user), msgspec.json.encode(creds))
        if urls:
            write_private(setup.context_path(user), render_context(creds, urls))
    return setup


def reload_broker(pid_file: Path) -> bool:
    """Ask a running nats-server to re-read its config (and so the users); False if none is running there."""
    try:
        pid = int(pid_file.read_text().strip())
        os.kill(pid, signal.SIGHUP)
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return False
    return True
