"""QR login: the login page gets a QR, polls its status, and receives the session cookies on confirmation.

A scan of an account that must verify its identity answers error 2046 with the ways to verify (as
reference/douyin-web-public.md §5b gives it); the page then asks for an SMS code (send_code), checks
the code typed (validate_code, the code xor-5 hex-encoded) and polls on to the confirmation.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hiscrm.sandbox import qr
from hiscrm.sandbox.auth import SESSION_COOKIE, form_or_json, json, world_of
from hiscrm.sandbox.model import Invalid, NotFound, QrLogin, Refusal, Session
from hiscrm.sandbox.state import World

HOME = "/creator-micro/home"
NEEDS_VERIFICATION = 2046
SESSION_SECONDS = 5_184_000  # 60 days, what sid_guard advertises


async def get_qrcode(request: Request) -> Response:
    login = world_of(request).new_qr()
    return json(
        {
            "error_code": 0,
            "message": "success",
            "data": {
                "token": login.token,
                "qrcode": qr.png_base64(login.token),
                "qrcode_index_url": qr.payload(login.token),
                "expire_time": int(login.expires_at),
            },
        }
    )


async def check_qrconnect(request: Request) -> Response:
    world = world_of(request)
    try:
        login = world.qr(request.query_params.get("token", ""))
    except NotFound:
        return json({"error_code": 7, "message": "二维码不存在", "data": {"status": "expired"}})
    if login.status == "verify":
        return json(
            {"error_code": NEEDS_VERIFICATION, "message": "需要进行身份验证", "data": _verify_ways(world, login)}
        )
    data: dict[str, object] = {"status": login.status}
    if login.status != "confirmed":
        return json({"error_code": 0, "message": "success", "data": data})
    data["redirect_url"] = HOME
    response = json({"error_code": 0, "message": "success", "data": data})
    _set_session_cookies(response, world.sessions[login.sessionid])
    return response


def _set_session_cookies(response: Response, session: Session) -> None:
    expires = datetime.fromtimestamp(session.created + SESSION_SECONDS, UTC).strftime("%a, %d-%b-%Y %H:%M:%S GMT")
    guard = quote(f"{session.sessionid}|{session.created}|{SESSION_SECONDS}|{expires}", safe="")
    for name, value in ((SESSION_COOKIE, session.sessionid), ("sessionid_ss", session.sessionid), ("sid_guard", guard)):
        response.set_cookie(name, value, max_age=SESSION_SECONDS, path="/", httponly=True, samesite="lax")
    response.set_cookie("LOGIN_STATUS", "1", max_age=SESSION_SECONDS, path="/", samesite="lax")


def _verify_ways(world: World, login: QrLogin) -> dict[str, object]:
    mobile = world.masked_mobile(login.uid)
    return {
        "verify_ways": [
            {"verify_way": "mobile_sms_verify", "mobile": mobile, "act_type": 1},
            {"verify_way": "face_verify", "act_type": 1},
        ],
        "verify_ticket": login.verify_ticket,
        "encrypt_uid": login.token[:16],
    }


def decode_code(encoded: str) -> str:
    """The page sends the code xor-5, hex-encoded, one byte per character."""
    try:
        return "".join(chr(b ^ 5) for b in bytes.fromhex(encoded))
    except ValueError:
        raise Invalid("code is not hex") from None


def _refused(refusal: Refusal) -> Response:
    return json({"error_code": refusal.code, "message": "error", "data": {"description": refusal.message}})


async def send_code(request: Request) -> Response:
    """Sends the verification SMS ("获取验证码") for a scan that demanded it."""
    world = world_of(request)
    body = await form_or_json(request)
    try:
        sms = world.send_sms(world.qr_by_ticket(str(body.get("verify_ticket") or "")))
    except (NotFound, Invalid) as exc:
        return json({"error_code": 1, "message": "error", "data": {"description": str(exc)}})
    except Refusal as refusal:
        return _refused(refusal)
    return json(
        {"error_code": 0, "message": "success", "data": {"mobile": sms.mobile, "retry_time": int(world.sms_resend)}}
    )


async def validate_code(request: Request) -> Response:
    """The SMS code typed in the verification dialog."""
    world = world_of(request)
    body = await form_or_json(request)
    try:
        login = world.qr_by_ticket(str(body.get("verify_ticket") or ""))
        world.verify(login, decode_code(str(body.get("code") or "")))
    except (NotFound, Invalid) as exc:
        return json({"error_code": 1, "message": "error", "data": {"description": str(exc)}})
    except Refusal as refusal:
        return _refused(refusal)
    return json({"error_code": 0, "message": "success", "data": {"ticket": login.verify_ticket}})


routes = [
    Route("/passport/web/get_qrcode/", get_qrcode),
    Route("/passport/web/check_qrconnect/", check_qrconnect),
    Route("/passport/web/send_code/", send_code, methods=["POST"]),
    Route("/passport/web/validate_code/", validate_code, methods=["POST"]),
]
