"""Least privilege, enforced by the server: each role does its job under its own user and is refused the rest.

The real coordinator and worker agent run under their own users (so the allow lists are known to be
enough), then a worker's user tries what only others may do.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path

import pytest
from nats.js.api import ConsumerConfig, DeliverPolicy

from hiscrm.coordinator.service import Coordinator
from hiscrm.facts import catalogue as c
from hiscrm.facts.messages import AccountConfig
from hiscrm.facts.subjects import COMMANDS_STREAM, CONFIG_BUCKET, EVENTS_STREAM, PRESENCE_BUCKET, worker_reader
from hiscrm.secrets.sealing import new_key
from hiscrm.store import kv
from hiscrm.store.event_store import EventStore
from hiscrm.worker import reply_flow
from hiscrm.worker.agent import WorkerAgent
from hiscrm.worker.handler import Command
from hiscrm.worker.seen import SeenIndex
from tests.cluster.conftest import Secured
from tests.conftest import eventually

REFUSAL_WAIT_S = 2.0
INBOX_FILTER = "hiscrm.evt.inbox.*.*"
FAN = c.Person(user_id="42", name="fan")


class Recorder:
    def __init__(self) -> None:
        self.configs: dict[str, AccountConfig] = {}
        self.commands: list[Command] = []

    async def on_config(self, config: AccountConfig) -> None:
        self.configs[config.account_id] = config

    async def on_removed(self, account_id: str) -> None:
        self.configs.pop(account_id, None)

    async def on_command(self, command: Command) -> None:
        self.commands.append(command)


def violations(caplog: pytest.LogCaptureFixture, subject_part: str) -> list[str]:
    # nats-py lowercases the server's `-ERR 'Permissions Violation for Publish to "..."'`.
    found = (r.getMessage().lower() for r in caplog.records)
    return [m for m in found if "permissions violation" in m and subject_part.lower() in m]


async def refused(caplog: pytest.LogCaptureFixture, what: str, attempt: object) -> None:
    """`attempt` gets no answer, and the server says why: a permissions violation naming `what`."""
    with pytest.raises((TimeoutError, asyncio.TimeoutError, Exception)):
        await asyncio.wait_for(attempt, REFUSAL_WAIT_S)  # type: ignore[arg-type]
    await eventually(lambda: violations(caplog, what), timeout=5, what=f"a permissions violation for {what}")


async def test_each_role_does_its_job_and_a_worker_is_refused_the_rest(
    secured: Secured, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="hiscrm.store.connection")
    api_nc = await secured.connect("api")
    coordinator_nc = await secured.connect("coordinator")
    w1_nc = await secured.connect("worker-w1")
    stop = asyncio.Event()
    try:
        # The coordinator and a worker do their whole jobs under their own users.
        coordinator = Coordinator(coordinator_nc, new_key(), coordinator_id="c1", lease_ttl_s=3, lease_renew_s=1)
        handler = Recorder()
        agent = WorkerAgent(w1_nc, "w1", platforms=["douyin"], max_accounts=10, handler=handler)
        tasks = [asyncio.create_task(coordinator.run(stop)), asyncio.create_task(agent.run(stop))]
        api = EventStore(api_nc)
        await api.append(c.AccountCreated(account_id="acc1", platform="douyin", account_name="one"))
        await eventually(lambda: "acc1" in handler.configs, timeout=20, what="acc1 assigned to w1 and configured")
        await api.append(
            c.LoginRequested(login_id="L1", account_id="acc1", expires_at_ms=int(time.time() * 1000) + 300_000)
        )
        await eventually(lambda: handler.commands, timeout=10, what="the login command reaching w1")
        await api.append(c.ConversationRead(account_id="acc1", conversation_id="conv1"))
        # Account operations: the api records them, the coordinator passes them on, the worker reports back.
        await api.append(c.LoginSmsCodeSubmitted(login_id="L1", account_id="acc1", sealed_code="s1:code"))
        await api.append(c.AccountCrawlRequested(account_id="acc1"))
        await api.append(c.AccountPinned(account_id="acc1", worker_id="w1"))
        await eventually(
            lambda: {type(cmd).__name__ for cmd in handler.commands} >= {"LoginSmsCode", "CrawlNow"},
            timeout=10,
            what="the SMS code and crawl_now reaching w1",
        )
        worker_facts = EventStore(w1_nc)
        await worker_facts.append(
            c.LoginSmsCodeRejected(login_id="L1", account_id="acc1", reason="wrong", code="wrong")
        )
        await worker_facts.append(c.AccountCrawlFailed(account_id="acc1", worker_id="w1", reason="timeout"))
        await api.append(c.AccountLoggedOut(account_id="acc1"))

        # What a worker may not do: write another's presence (its own, the agent keeps writing).
        w1 = w1_nc.jetstream()
        await refused(caplog, "$KV.hiscrm_presence.w2", kv.put(w1, PRESENCE_BUCKET, "w2", b"{}", ttl=30))
        # An account fact is the api's and the coordinator's to append.
        store = EventStore(w1_nc)
        await refused(
            caplog,
            "hiscrm.evt.account.acc9.created",
            store.append(c.AccountCreated(account_id="acc9", platform="douyin", account_name="x")),
        )
        await refused(
            caplog,
            "hiscrm.evt.worker.w2.registered",
            store.append(c.WorkerRegistered(worker_id="w2", platforms=["douyin"], max_accounts=1)),
        )
        # Another worker's config: neither a direct read nor a watch.
        await coordinator_nc.jetstream().publish(f"$KV.{CONFIG_BUCKET}.w2.acc2", b"{}")
        await refused(caplog, "$KV.hiscrm_config.w2.acc2", kv.latest(w1, CONFIG_BUCKET, "w2.acc2"))
        bucket = await w1.key_value(CONFIG_BUCKET)
        await refused(caplog, "$KV.hiscrm_config.w2.*", kv.follow(bucket, "w2.*", lambda e: None))
        await refused(caplog, "$KV.hiscrm_config.>", kv.follow(bucket, ">", lambda e: None))
        # Another worker's commands: not under its own durable name, nor under the other's.
        await refused(
            caplog,
            "worker-w1.hiscrm.cmd.w2.>",
            w1.add_consumer(COMMANDS_STREAM, ConsumerConfig(name="worker-w1", filter_subject="hiscrm.cmd.w2.>")),
        )
        await refused(caplog, "CONSUMER.INFO.HISCRM_COMMANDS.worker-w2", w1.consumer_info(COMMANDS_STREAM, "worker-w2"))
        # Nor can it listen in on the bus or on another user's replies.
        await refused(caplog, 'Subscription to "hiscrm.cmd.>"', _subscribe_and_flush(w1_nc, "hiscrm.cmd.>"))
        await refused(caplog, "_INBOX.coordinator.>", _subscribe_and_flush(w1_nc, "_INBOX.coordinator.>"))

        # An SMS code is the operator's to submit, through the api.
        await refused(
            caplog,
            "hiscrm.evt.login.L1.sms_code_submitted",
            store.append(c.LoginSmsCodeSubmitted(login_id="L1", account_id="acc1", sealed_code="s1:x")),
        )
        # The api records IM state and requests, never the coordinator's decisions.
        await refused(
            caplog,
            "hiscrm.evt.account.acc1.assigned",
            api.append(c.AccountAssigned(account_id="acc1", worker_id="w2")),
        )
        # The projector only reads.
        projector_nc = await secured.connect("projector")
        await refused(
            caplog,
            "hiscrm.evt.inbox.acc1.conversation_read",
            EventStore(projector_nc).append(c.ConversationRead(account_id="acc1", conversation_id="conv2")),
        )
        await projector_nc.close()
    finally:
        stop.set()
        await asyncio.wait(tasks, timeout=10)
        for nc in (api_nc, coordinator_nc, w1_nc):
            await nc.close()


async def _subscribe_and_flush(nc, subject: str) -> None:  # type: ignore[no-untyped-def]
    await nc.subscribe(subject)
    await nc.flush()
    await asyncio.sleep(REFUSAL_WAIT_S + 1)  # a refused subscription is reported, never answered


async def test_wrong_password_is_a_clear_error(secured: Secured) -> None:
    from hiscrm.errors import BrokerUnavailable
    from hiscrm.store.auth import Credentials
    from hiscrm.store.connection import connect

    with pytest.raises(BrokerUnavailable, match="refused user 'api'"):
        await connect([secured.broker.url], "test", wait_s=2, credentials=Credentials("api", "wrong"))


async def test_a_worker_reads_under_its_own_consumer_names_and_removes_no_one_elses(
    secured: Secured, caplog: pytest.LogCaptureFixture
) -> None:
    """Finding 9 of issue 13: a worker made durables on HISCRM_EVENTS and deleted an admin's by name."""
    caplog.set_level(logging.DEBUG, logger="hiscrm.store.connection")
    admin_nc = await secured.connect("admin")
    w1_nc = await secured.connect("worker-w1")
    try:
        admin = admin_nc.jetstream()
        store = EventStore(admin_nc)
        await store.append(c.AccountCreated(account_id="acc1", platform="douyin", account_name="one"))
        observed = [
            c.CommentObserved(
                account_id="acc1", comment_id=f"cm{i}", content_id="v1", text=f"hi {i}", author=FAN, create_time_ms=i
            )
            for i in range(3)
        ]
        for fact in observed:
            await store.append(fact)
        await store.append(
            c.ReplySent(reply_id="r1", account_id="acc1", platform_id="p1", worker_id="w1", sent_at_ms=1)
        )
        await admin.add_consumer(
            EVENTS_STREAM, ConsumerConfig(durable_name="ops-replay", deliver_policy=DeliverPolicy.ALL)
        )
        await admin.add_consumer(f"KV_{CONFIG_BUCKET}", ConsumerConfig(durable_name="ops-watch"))

        # What the worker does with the events stream, it does under these permissions.
        index = SeenIndex.load(Path("/nonexistent/seen.idx"))
        assert await index.catch_up(w1_nc, "acc1", worker_reader("w1", "inbox")) == len(observed)
        w1_store = EventStore(w1_nc)
        assert await reply_flow.already_settled(w1_store, "r1")
        assert not await reply_flow.already_settled(w1_store, "r2")

        # No consumer under any other name: not a durable, not an ephemeral.
        durable = {"stream_name": EVENTS_STREAM, "config": {"durable_name": "mine", "filter_subject": INBOX_FILTER}}
        await refused(
            caplog,
            "CONSUMER.CREATE.HISCRM_EVENTS.mine",
            w1_nc.request(f"$JS.API.CONSUMER.CREATE.{EVENTS_STREAM}.mine.{INBOX_FILTER}", json.dumps(durable).encode()),
        )
        await refused(
            caplog,
            "CONSUMER.DURABLE.CREATE.HISCRM_EVENTS.mine",
            w1_nc.request(f"$JS.API.CONSUMER.DURABLE.CREATE.{EVENTS_STREAM}.mine", json.dumps(durable).encode()),
        )
        # Nor another worker's name, nor its own name with a wider filter.
        await refused(
            caplog,
            "worker-w2-inbox",
            w1_nc.request(f"$JS.API.CONSUMER.CREATE.{EVENTS_STREAM}.worker-w2-inbox.{INBOX_FILTER}", b"{}"),
        )
        await refused(
            caplog,
            "worker-w1-inbox.hiscrm.evt.>",
            w1_nc.request(f"$JS.API.CONSUMER.CREATE.{EVENTS_STREAM}.worker-w1-inbox.hiscrm.evt.>", b"{}"),
        )
        # Under its own name the filter in the body must be the one in the subject: the server checks.
        for config in ({"filter_subject": "hiscrm.evt.>"}, {"filter_subjects": ["hiscrm.evt.account.*.*"]}):
            body = {"stream_name": EVENTS_STREAM, "config": {"name": "worker-w1-inbox", **config}}
            answer = await w1_nc.request(
                f"$JS.API.CONSUMER.CREATE.{EVENTS_STREAM}.worker-w1-inbox.{INBOX_FILTER}", json.dumps(body).encode()
            )
            assert "error" in json.loads(answer.data), answer.data

        # No one else's consumer can it delete, on the events stream or on its config bucket.
        await refused(
            caplog,
            "CONSUMER.DELETE.HISCRM_EVENTS.ops-replay",
            w1_nc.request(f"$JS.API.CONSUMER.DELETE.{EVENTS_STREAM}.ops-replay", b""),
        )
        await refused(
            caplog,
            "CONSUMER.DELETE.KV_hiscrm_config.ops-watch",
            w1_nc.request(f"$JS.API.CONSUMER.DELETE.KV_{CONFIG_BUCKET}.ops-watch", b""),
        )
        assert (await admin.consumer_info(EVENTS_STREAM, "ops-replay")).name == "ops-replay"
        assert (await admin.consumer_info(f"KV_{CONFIG_BUCKET}", "ops-watch")).name == "ops-watch"
        # And what the worker read with left nothing behind.
        names = [info.name for info in await admin.consumers_info(EVENTS_STREAM)]
        assert names == ["ops-replay"], names
    finally:
        for nc in (admin_nc, w1_nc):
            await nc.close()
