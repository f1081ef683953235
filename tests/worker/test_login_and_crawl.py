"""Login by QR through the whole system, then crawling: the read models fill with real names, avatars,
times and texts within two passes."""

from __future__ import annotations

from hiscrm.facts.catalogue import LoginQrcodeReady, LoginSucceeded, PassCounts, SnapshotSynced
from hiscrm.projector.live import LiveModels
from projections import accounts, comments, contents, conversations, login_sessions, sightings
from tests.worker.conftest import KITCHEN, Cluster, Sandbox, rows, wait_for_facts


async def test_qr_login_then_two_passes_fill_the_read_models(  # type: ignore[no-untyped-def]
    nc, store, cluster: Cluster, sandbox: Sandbox, models: LiveModels
) -> None:
    cluster.start_worker()
    await cluster.create_account("kitchen")
    await cluster.request_login("kitchen", "L1")
    ready = (await wait_for_facts(nc, LoginQrcodeReady))[0]
    assert ready.qrcode.startswith("data:image/png;base64,") and ready.worker_id == "w1"
    await sandbox.control("POST", "/qr/scan", {"uid": KITCHEN})
    ok: LoginSucceeded = (await wait_for_facts(nc, LoginSucceeded))[0]
    assert ok.profile.nickname == "林小满的厨房" and ok.profile.unique_id == "linxiaoman.kitchen"
    assert ok.profile.avatar and ok.profile.follower_count == 286_400
    assert "sessionid" not in ok.sealed_credentials

    synced = await wait_for_facts(nc, SnapshotSynced, 2, timeout=90)
    assert synced[0].baseline and not synced[1].baseline
    assert synced[0].counts.comments == 120 and synced[1].new_counts == PassCounts()
    assert await models.wait_for(await store.last_seq("inbox", "kitchen"), timeout=10)

    with models.read() as tx:
        login = tx.get(login_sessions.ROWS, login_sessions.row_key("L1"), login_sessions.LoginRow)
        account = tx.get(accounts.ROWS, accounts.row_key("kitchen"), accounts.AccountRow)
        works = rows(tx, contents.ROWS, "kitchen", type_=contents.ContentRow)
        all_comments = rows(tx, comments.ROWS, "kitchen", type_=comments.CommentRow)
        convs = rows(tx, conversations.CONVERSATIONS, "kitchen", type_=conversations.ConversationRow)
        messages = rows(tx, conversations.MESSAGES, "kitchen", type_=conversations.MessageRow)
        seen_notices = rows(tx, sightings.TABLE, "kitchen", "n")
    world = sandbox.world
    assert login.status == "success" and login.qrcode == ready.qrcode
    assert account.login_status == "logged_in" and account.runtime.passes >= 2
    assert len(works) == 8 and all(w.title and w.cover and w.publish_time for w in works)

    kitchen_comments = [c for c in world.comments.values() if world.works[c.aweme_id].owner_uid == KITCHEN]
    assert sorted(c.comment_id for c in all_comments) == sorted(c.cid for c in kitchen_comments)
    for c in all_comments:
        truth = world.comments[c.comment_id]
        assert c.text == truth.text and c.create_time == truth.create_time * 1000
        assert c.parent_comment_id == (None if truth.reply_id == "0" else truth.reply_id)
        assert c.author.name == world.users[truth.user_uid].nickname and c.author.avatar and c.content_title

    assert len(convs) == 6 and all(c.participant and c.participant.name and c.participant.avatar for c in convs)
    assert len(messages) == sum(len(world.conversations[c.conversation_id].messages) for c in convs)
    for m in messages:
        assert m.content and m.sender.name and m.sender.avatar and m.create_time and m.receiver
    assert len(seen_notices) == len(world.notices_of[KITCHEN])
