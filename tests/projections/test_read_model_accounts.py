"""Accounts and login sessions: settings, login status transitions, trouble, stats, no secrets."""

from __future__ import annotations

from hiscrm.facts import catalogue as c
from hiscrm.projector.model import be64, key
from projections import accounts, login_sessions
from projections.accounts import AccountRow
from projections.login_sessions import LoginRow
from tests.projections.factlog import FactLog

PROFILE = c.Profile(
    uid="9900000001",
    unique_id="shop_001",
    sec_uid="MS4wLjABAAAA",
    nickname="小店",
    avatar="https://p3.douyinpic.com/a.jpeg",
    signature="hello",
    follower_count=120,
    following_count=3,
)


def account(log: FactLog, account_id: str = "acc1") -> AccountRow:
    return log.get(accounts.ROWS, accounts.row_key(account_id), AccountRow)


def session(log: FactLog, login_id: str) -> LoginRow:
    return log.get(login_sessions.ROWS, login_sessions.row_key(login_id), LoginRow)


def create(log: FactLog, account_id: str = "acc1") -> int:
    return log.append(
        c.AccountCreated(
            account_id=account_id,
            platform="douyin",
            account_name="小店",
            monitor_interval=20,
            sealed_key="SEALED-KEY-xyz",
        )
    )


def requested(login_id: str, account_id: str = "acc1") -> c.LoginRequested:
    return c.LoginRequested(
        login_id=login_id, account_id=account_id, expires_at_ms=1_800_000_000_000, requested_by="ops"
    )


def succeeded(login_id: str, account_id: str = "acc1") -> c.LoginSucceeded:
    return c.LoginSucceeded(
        login_id=login_id, account_id=account_id, profile=PROFILE, sealed_credentials="SEALED-CREDS-abc", worker_id="w1"
    )


def test_created_updated_assigned(log: FactLog) -> None:
    seq = create(log)
    row = account(log)
    assert (row.seq, row.platform, row.account_name, row.monitor_interval) == (seq, "douyin", "小店", 20)
    assert (row.status, row.login_status, row.has_credentials) == ("active", "not_logged_in", False)
    assert row.created_at == row.updated_at == log.now
    assert log.get(accounts.ORDER, be64(seq), str) == "acc1"

    log.append(
        c.AccountUpdated(account_id="acc1", account_name="大店", status="disabled", proxy_id="px1"),
        c.AccountAssigned(account_id="acc1", worker_id="w1"),
    )
    row = account(log)
    assert (row.account_name, row.status, row.proxy_id, row.monitor_interval) == ("大店", "disabled", "px1", 20)
    assert row.assigned_worker_id == "w1"
    assert row.updated_at == log.now

    log.append(c.AccountUnassigned(account_id="acc1", worker_id="w2"))
    assert account(log).assigned_worker_id == "w1", "unassigning another worker changes nothing"
    log.append(c.AccountUnassigned(account_id="acc1", worker_id="w1"))
    assert account(log).assigned_worker_id is None


def test_sealed_secrets_never_reach_the_read_models(log: FactLog) -> None:
    create(log)
    log.append(requested("L1"), succeeded("L1"))
    assert account(log).has_credentials
    everything = b"".join(k + v for _, k, v in log.env.items())
    assert b"SEALED-KEY" not in everything
    assert b"SEALED-CREDS" not in everything


def test_login_status_follows_the_login_and_session_facts(log: FactLog) -> None:
    create(log)
    log.append(requested("L1"))
    assert (account(log).login_status, account(log).login_id) == ("logging_in", "L1")
    log.append(c.LoginQrcodeReady(login_id="L1", account_id="acc1", qrcode="data:image/png;base64,AA"))
    assert account(log).login_status == "logging_in"
    log.append(succeeded("L1"))
    row = account(log)
    assert (row.login_status, row.platform_user_id, row.session_valid) == ("logged_in", "9900000001", True)
    assert row.user_info == PROFILE

    # A second attempt that times out while the old session still works leaves it logged in.
    log.append(requested("L2"), c.LoginExpired(login_id="L2", account_id="acc1"))
    assert account(log).login_status == "logged_in"

    log.append(c.AccountSessionExpired(account_id="acc1", worker_id="w1", detail="redirected to login"))
    row = account(log)
    assert (row.login_status, row.session_valid) == ("expired", False)
    assert row.trouble is not None
    assert (row.trouble.kind, row.trouble.detail, row.trouble.at) == ("session_expired", "redirected to login", log.now)

    log.append(requested("L3"), c.LoginFailed(login_id="L3", account_id="acc1", reason="qr scan refused"))
    row = account(log)
    assert row.login_status == "login_failed"
    assert row.trouble is not None and (row.trouble.kind, row.trouble.login_id) == ("login_failed", "L3")

    log.append(requested("L4"), c.LoginExpired(login_id="L3", account_id="acc1"))
    assert account(log).login_status == "logging_in", "a stale session's end does not touch the current one"
    log.append(c.LoginExpired(login_id="L4", account_id="acc1"))
    assert account(log).login_status == "not_logged_in"

    log.append(requested("L5"), c.LoginVerificationRequired(login_id="L5", account_id="acc1", method="sms"))
    assert account(log).trouble.kind == "verification_required"  # type: ignore[union-attr]
    log.append(succeeded("L5"))
    assert account(log).trouble is None, "a login that succeeds settles the old session's trouble"
    log.append(c.AccountBlocked(account_id="acc1", kind="risk_control"))
    assert account(log).login_status == "blocked"
    assert account(log).runtime.errors == 4
    log.append(
        c.SnapshotSynced(
            account_id="acc1",
            worker_id="w1",
            pass_no=1,
            counts=c.PassCounts(),
            new_counts=c.PassCounts(),
            duration_ms=10,
            digest="d",
        )
    )
    assert account(log).login_status == "logged_in", "a completed pass proves the block lifted"
    assert account(log).trouble is None


def test_runtime_stats_from_passes(log: FactLog) -> None:
    create(log)
    for n, new in ((1, 5), (2, 2)):
        log.append(
            c.SnapshotSynced(
                account_id="acc1",
                worker_id="w1",
                pass_no=n,
                counts=c.PassCounts(comments=10, messages=4),
                new_counts=c.PassCounts(comments=new, messages=1),
                duration_ms=1500 * n,
                digest=f"d{n}",
            )
        )
    rt = account(log).runtime
    assert (rt.passes, rt.last_pass_no, rt.last_pass_at, rt.last_pass_duration_ms) == (2, 2, log.now, 3000)
    assert rt.seen == c.PassCounts(comments=10, messages=4)
    assert rt.new == c.PassCounts(comments=2, messages=1)
    assert rt.new_total == c.PassCounts(comments=7, messages=2)


def test_deleted_account_is_gone_and_later_facts_do_not_revive_it(log: FactLog) -> None:
    seq = create(log)
    log.append(c.AccountDeleted(account_id="acc1"), requested("L1"), succeeded("L1"))
    assert account(log) is None
    assert log.get(accounts.ORDER, be64(seq)) is None
    seq2 = create(log)
    assert account(log).seq == seq2
    assert log.values(accounts.ORDER, type_=str) == ["acc1"]


def test_login_session_statuses(log: FactLog) -> None:
    seq = log.append(requested("L1"))
    row = session(log, "L1")
    assert (row.status, row.seq, row.expires_at, row.requested_by) == ("pending", seq, 1_800_000_000_000, "ops")
    log.append(
        c.LoginQrcodeReady(login_id="L1", account_id="acc1", qrcode="data:1", qr_expires_at_ms=5, worker_id="w1")
    )
    assert (session(log, "L1").status, session(log, "L1").qrcode, session(log, "L1").worker_id) == (
        "qrcode_ready",
        "data:1",
        "w1",
    )
    log.append(c.LoginQrcodeRefreshed(login_id="L1", account_id="acc1", qrcode="data:2", qr_expires_at_ms=9))
    assert (session(log, "L1").status, session(log, "L1").qrcode, session(log, "L1").qr_expires_at) == (
        "qrcode_refreshed",
        "data:2",
        9,
    )
    log.append(c.LoginVerificationRequired(login_id="L1", account_id="acc1", method="sms", message="enter code"))
    row = session(log, "L1")
    assert (row.status, row.verification_method, row.message) == ("scanning", "sms", "enter code")
    log.append(succeeded("L1"))
    row = session(log, "L1")
    assert (row.status, row.profile, row.finished_at) == ("success", PROFILE, log.now)
    log.append(c.LoginQrcodeRefreshed(login_id="L1", account_id="acc1", qrcode="data:3"))
    assert session(log, "L1").status == "success", "final states stay final"
    assert b"SEALED" not in b"".join(v for _, _, v in log.env.items())


def test_failed_is_final_but_a_late_success_beats_expired(log: FactLog) -> None:
    log.append(requested("L1"), c.LoginFailed(login_id="L1", account_id="acc1", reason="denied", code="E1"))
    log.append(c.LoginExpired(login_id="L1", account_id="acc1"), succeeded("L1"))
    row = session(log, "L1")
    assert (row.status, row.reason, row.code) == ("failed", "denied", "E1")

    log.append(requested("L2"), c.LoginExpired(login_id="L2", account_id="acc1"))
    assert session(log, "L2").status == "expired"
    log.append(succeeded("L2"))
    assert session(log, "L2").status == "success"


def test_latest_session_per_account_and_history(log: FactLog) -> None:
    log.append(requested("L1"), requested("X1", account_id="acc2"), requested("L2"))
    with log.tx() as tx:
        latest = login_sessions.latest(tx, "acc1")
        assert latest is not None and latest.login_id == "L2"
        assert [v for _, v in tx.scan(login_sessions.HISTORY, key("acc1", b""), str)] == ["L2", "L1"]
        assert login_sessions.latest(tx, "acc3") is None


def test_adapter_drift_is_shown_until_the_doctor_finds_everything_holding(log: FactLog) -> None:
    create(log)
    assert account(log).adapter_drift == []
    broken = [c.DriftedExpectation(name="works.item_time", page="/creator-micro/content/manage", detail="not parsed")]
    seq = log.append(
        c.AccountAdapterDrift(account_id="acc1", platform="douyin", broken=broken, holding=40, not_checked=9)
    )
    row = account(log)
    assert [d.name for d in row.adapter_drift] == ["works.item_time"] and row.adapter_drift_at is not None
    assert row.seq < seq
    log.append(c.AccountAdapterDrift(account_id="acc1", platform="douyin", broken=[], holding=41, not_checked=9))
    assert account(log).adapter_drift == []
