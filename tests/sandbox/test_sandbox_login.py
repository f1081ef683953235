"""QR login, SMS verification, session cookies and what logged-out callers see."""

from __future__ import annotations

import base64
import io
from urllib.parse import unquote

import httpx
import qrcode
from PIL import Image

from hiscrm.sandbox import qr
from hiscrm.sandbox.state import World
from tests.sandbox.sandbox_helpers import KITCHEN, RIDER


async def new_qr(client: httpx.AsyncClient) -> dict:
    answer = (await client.get("/passport/web/get_qrcode/")).json()
    assert answer["error_code"] == 0
    return answer["data"]


async def status_of(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.get("/passport/web/check_qrconnect/", params={"token": token})


async def test_login_view_has_the_texts_and_qr_container(client: httpx.AsyncClient) -> None:
    page = await client.get("/")
    assert page.status_code == 200
    for marker in ("扫码登录", 'id="animate_qrcode_container"', 'aria-label="二维码"', "scan_qrcode_login_content"):
        assert marker in page.text
    assert 'placeholder="请输入验证码"' in page.text  # the SMS step exists, hidden until asked for


async def test_qr_is_a_real_png_encoding_the_attempts_token(client: httpx.AsyncClient) -> None:
    data = await new_qr(client)
    token = data["token"]
    assert token in data["qrcode_index_url"]
    image = Image.open(io.BytesIO(base64.b64decode(data["qrcode"])))
    assert image.format == "PNG"
    # Every module of the QR for the token's scan URL is where the image has it: the PNG is that QR.
    code = qrcode.QRCode(box_size=5, border=2, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(qr.payload(token))
    matrix = code.get_matrix()
    gray = image.convert("L")
    assert gray.size == (len(matrix) * 5, len(matrix) * 5)
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            assert (gray.getpixel((x * 5 + 2, y * 5 + 2)) < 128) == dark
    other = await new_qr(client)
    assert other["token"] != token and other["qrcode"] != data["qrcode"]


async def test_scan_then_confirm_sets_session_cookies(client: httpx.AsyncClient, world: World) -> None:
    token = (await new_qr(client))["token"]
    assert (await status_of(client, token)).json()["data"]["status"] == "new"
    pending = (await client.get("/__sandbox/qr")).json()
    assert [q["status"] for q in pending if q["token"] == token] == ["new"]

    scanned = await client.post("/__sandbox/qr/scan", json={"unique_id": "linxiaoman.kitchen", "confirm": False})
    assert scanned.json()["status"] == "scanned" and scanned.json()["token"] == token
    answer = await status_of(client, token)
    assert answer.json()["data"]["status"] == "scanned"
    assert "set-cookie" not in answer.headers

    await client.post("/__sandbox/qr/scan", json={"uid": KITCHEN, "token": token})
    answer = await status_of(client, token)
    assert answer.json()["data"] == {"status": "confirmed", "redirect_url": "/creator-micro/home"}
    cookies = {c.split("=", 1)[0]: c for c in answer.headers.get_list("set-cookie")}
    assert {"sessionid", "sessionid_ss", "sid_guard"} <= set(cookies)
    assert "HttpOnly" in cookies["sessionid"] and "Path=/" in cookies["sessionid"]
    sessionid = client.cookies["sessionid"]
    assert client.cookies["sessionid_ss"] == sessionid
    assert unquote(client.cookies["sid_guard"]).startswith(f"{sessionid}|")
    assert world.sessions[sessionid].uid == KITCHEN

    info = (await client.get("/web/api/media/user/info/")).json()
    assert info["status_code"] == 0 and info["user"]["uid"] == KITCHEN
    home = await client.get("/", follow_redirects=False)
    assert home.status_code == 302 and home.headers["location"] == "/creator-micro/home"


async def test_expired_qr_cannot_be_scanned_and_a_new_one_can(client: httpx.AsyncClient, world: World) -> None:
    clock = [world.clock()]
    world.clock = lambda: clock[0]
    first = (await new_qr(client))["token"]
    clock[0] += 149
    assert (await status_of(client, first)).json()["data"]["status"] == "new"
    clock[0] += 2  # past the default 150 s
    assert (await status_of(client, first)).json()["data"]["status"] == "expired"
    refused = await client.post("/__sandbox/qr/scan", json={"uid": KITCHEN, "token": first})
    assert refused.status_code == 400

    assert (await client.post("/__sandbox/settings", json={"qr_ttl": 5})).json()["qr_ttl"] == 5.0
    second = (await new_qr(client))["token"]
    clock[0] += 6
    assert (await status_of(client, second)).json()["data"]["status"] == "expired"

    third = (await new_qr(client))["token"]
    expired = (await client.post("/__sandbox/qr/expire", json={"token": third})).json()
    assert expired == {"expired": [third]}
    assert (await status_of(client, third)).json()["data"]["status"] == "expired"
    fourth = (await new_qr(client))["token"]
    scanned = await client.post("/__sandbox/qr/scan", json={"uid": KITCHEN})  # the latest pending one
    assert scanned.json()["token"] == fourth and scanned.json()["status"] == "confirmed"


def xor5(code: str) -> str:
    return "".join(f"{ord(ch) ^ 5:02x}" for ch in code)


async def verification_of(client: httpx.AsyncClient, token: str) -> dict:
    answer = (await status_of(client, token)).json()
    assert answer["error_code"] == 2046, answer
    return answer["data"]


async def test_sms_verification_holds_the_login_until_the_code(client: httpx.AsyncClient, world: World) -> None:
    clock = [1_800_000_000.0]
    world.clock = lambda: clock[0]
    demanded = await client.post(f"/__sandbox/accounts/{RIDER}/sms", json={"required": True})
    assert demanded.json()["sms_required"] is True
    token = (await new_qr(client))["token"]
    scanned = (await client.post("/__sandbox/qr/scan", json={"uid": RIDER})).json()
    assert scanned["status"] == "verify" and scanned["sms_code"] == ""  # nothing sent before the page asks
    data = await verification_of(client, token)
    ways = {w["verify_way"]: w for w in data["verify_ways"]}
    assert ways["mobile_sms_verify"]["mobile"].endswith(RIDER[-4:]) and "face_verify" in ways
    ticket = data["verify_ticket"]
    assert "sessionid" not in client.cookies

    early = await client.post("/passport/web/validate_code/", json={"verify_ticket": ticket, "code": xor5("123456")})
    assert early.json()["error_code"] == 1201
    sent = (await client.post("/passport/web/send_code/", json={"verify_ticket": ticket})).json()
    assert sent["error_code"] == 0 and sent["data"]["retry_time"] == 60
    again = (await client.post("/passport/web/send_code/", json={"verify_ticket": ticket})).json()
    assert again["error_code"] == 1206  # too soon to resend
    outbox = (await client.get("/__sandbox/sms", params={"uid": RIDER})).json()
    assert len(outbox) == 1 and outbox[0]["token"] == token and outbox[0]["mobile"].endswith(RIDER[-4:])
    code = outbox[0]["code"]

    wrong = str((int(code) + 1) % 10**6).zfill(6)
    refused = await client.post("/passport/web/validate_code/", json={"verify_ticket": ticket, "code": xor5(wrong)})
    assert refused.json()["error_code"] == 1202
    await verification_of(client, token)  # still waiting

    clock[0] += world.sms_ttl  # the code lapses
    late = await client.post("/passport/web/validate_code/", json={"verify_ticket": ticket, "code": xor5(code)})
    assert late.json()["error_code"] == 1203
    assert (await client.post("/passport/web/send_code/", json={"verify_ticket": ticket})).json()["error_code"] == 0
    code = (await client.get("/__sandbox/sms", params={"uid": RIDER, "after": 1})).json()[0]["code"]

    accepted = await client.post("/passport/web/validate_code/", json={"verify_ticket": ticket, "code": xor5(code)})
    assert accepted.json()["error_code"] == 0
    assert (await status_of(client, token)).json()["data"]["status"] == "confirmed"
    assert world.session(client.cookies["sessionid"]).uid == RIDER
    assert world.accounts[RIDER].sms_required is False  # demanded for one login only


async def test_too_many_wrong_codes_void_the_code(client: httpx.AsyncClient) -> None:
    await client.post(f"/__sandbox/accounts/{KITCHEN}/sms", json={})
    token = (await new_qr(client))["token"]
    await client.post("/__sandbox/qr/scan", json={"uid": KITCHEN, "token": token})
    ticket = (await verification_of(client, token))["verify_ticket"]
    await client.post("/passport/web/send_code/", json={"verify_ticket": ticket})
    code = (await client.get("/__sandbox/sms")).json()[-1]["code"]
    wrong = xor5(str((int(code) + 1) % 10**6).zfill(6))
    answers = [
        (await client.post("/passport/web/validate_code/", json={"verify_ticket": ticket, "code": wrong})).json()
        for _ in range(5)
    ]
    assert [a["error_code"] for a in answers] == [1202] * 4 + [1204]
    voided = await client.post("/passport/web/validate_code/", json={"verify_ticket": ticket, "code": xor5(code)})
    assert voided.json()["error_code"] == 1201
    # A voided code may be replaced at once.
    assert (await client.post("/passport/web/send_code/", json={"verify_ticket": ticket})).json()["error_code"] == 0


async def test_control_can_complete_verification(client: httpx.AsyncClient) -> None:
    await client.post(f"/__sandbox/accounts/{KITCHEN}/sms", json={})
    token = (await new_qr(client))["token"]
    await client.post("/__sandbox/qr/scan", json={"uid": KITCHEN, "token": token})
    verified = await client.post("/__sandbox/qr/verify", json={"uid": KITCHEN})
    assert verified.json()["status"] == "confirmed"
    assert (await status_of(client, token)).json()["data"]["status"] == "confirmed"
    again = await client.post("/__sandbox/qr/verify", json={"token": token})
    assert again.status_code == 400


async def test_logged_out_pages_redirect_and_apis_answer_8(client: httpx.AsyncClient) -> None:
    for path in ("/creator-micro/home", "/creator-micro/content/manage", "/creator-micro/data/following/chat"):
        page = await client.get(path, follow_redirects=False)
        assert page.status_code == 302 and page.headers["location"] == "/"
    followed = await client.get("/creator-micro/interactive/comment", follow_redirects=True)
    assert "扫码登录" in followed.text
    for path in ("/web/api/media/user/info/", "/aweme/v1/creator/item/list/", "/aweme/v1/web/notice/"):
        assert (await client.get(path)).json() == {"status_code": 8, "status_msg": "用户未登录"}
    client.cookies.set("sessionid", "0" * 32)
    assert (await client.get("/aweme/v1/creator/im/user_detail/")).json()["status_code"] == 8


async def test_expiring_sessions_logs_every_cookie_out(client: httpx.AsyncClient, login) -> None:
    await login(KITCHEN)
    assert (await client.get("/web/api/media/user/info/")).json()["status_code"] == 0
    expired = await client.post("/__sandbox/accounts/linxiaoman.kitchen/sessions/expire", json={})
    assert expired.json() == {"expired": 1}
    assert (await client.get("/web/api/media/user/info/")).json()["status_code"] == 8
    page = await client.get("/creator-micro/home", follow_redirects=False)
    assert page.status_code == 302
    account = (await client.get(f"/__sandbox/accounts/{KITCHEN}")).json()
    assert account["active_sessions"] == 0
