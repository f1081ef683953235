"""QR login: the login page gets a QR, polls its status, and receives the session cookies on confirmation."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hiscrm.sandbox import qr
from hiscrm.sandbox.auth import SESSION_COOKIE, form_or_json, json, world_of
from hiscrm.sandbox.model import Invalid, NotFound, QrLogin, Session

HOME = "/creator-micro/home"
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
    data: dict[str, object] = {"status": login.status}
    if login.status == "verify":
        data["verify_ways"] = ["sms"]
        data["mobile"] = "138****" + login.uid[-4:]
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


async def validate_code(request: Request) -> Response:
    """The SMS code typed on the login page after a scan that demanded verification."""
    world = world_of(request)
    body = await form_or_json(request)
    try:
        login: QrLogin = world.qr(str(body.get("token") or ""))
        ok = world.verify(login, str(body.get("code") or ""))
    except (NotFound, Invalid) as exc:
        return json({"error_code": 1, "message": "error", "data": {"description": str(exc)}})
    if not ok:
        return json({"error_code": 1202, "message": "error", "data": {"description": "验证码错误，请重新输入"}})
    return json({"error_code": 0, "message": "success", "data": {"status": login.status}})


routes = [
    Route("/passport/web/get_qrcode/", get_qrcode),
    Route("/passport/web/check_qrconnect/", check_qrconnect),
    Route("/passport/web/validate_code/", validate_code, methods=["POST"]),
]
