"""The HTML pages. Each is a skeleton whose inline script fetches the JSON and binary APIs and renders,
so a crawler can read either the answers (page.on("response")) or the DOM.

Hashed-looking class names (`unique_id-Xk3a9`, `box-header-name-Qp9Vd`) are fixed: crawlers match
their stable prefixes, as on the real site.
"""

from __future__ import annotations

import html
from importlib import resources

import msgspec
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from hiscrm.sandbox.auth import Caller, caller

HOME = "/creator-micro/home"
NAV = (
    (HOME, "首页"),
    ("/creator-micro/content/manage", "作品管理"),
    ("/creator-micro/interactive/comment", "评论管理"),
    ("/creator-micro/data/following/chat", "私信管理"),
)


def _asset(name: str) -> str:
    return (resources.files("hiscrm.sandbox") / "web" / name).read_text(encoding="utf-8")


CSS = _asset("sandbox.css")
COMMON_JS = _asset("common.js")
SCRIPTS = {name: _asset(f"{name}.js") for name in ("login", "home", "works", "comments", "work_detail", "chat")}
WORK_DETAIL = "/creator-micro/work-management/work-detail/"


def _document(title: str, body: str, *, head: str = "", script: str = "") -> HTMLResponse:
    return HTMLResponse(
        f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>{html.escape(title)}</title>{head}
<style>{CSS}</style></head>
<body>{body}
<div id="toast-root"></div>
<script>{script}</script>
</body></html>"""
    )


LOGIN_BODY = """
<div class="login-page"><div class="login-box">
  <div class="login-tabs"><span class="login-tab active">扫码登录</span><span class="login-tab">手机号登录</span></div>
  <div id="qrcode-panel" class="scan_qrcode_login_content-Mb3kq">
    <div id="animate_qrcode_container" class="animate_qrcode_container-Xs9jd">
      <img id="qrcode-img" aria-label="二维码" alt="二维码">
      <div id="qrcode-expired" class="qrcode-expired" hidden>
        <p class="qrcode-expired-text">二维码失效</p><span class="muted">点击刷新</span>
      </div>
    </div>
    <p id="scan-tip" class="muted">打开抖音App，扫一扫登录</p>
  </div>
</div></div>
<div id="uc-second-verify" class="uc-second-verify" hidden>
  <div class="second-verify-panel uc-ui-layout_content">
    <div class="uc-ui-verify-new_header">身份验证</div>
    <p class="muted">为了你的账号安全，请选择一种方式完成身份验证</p>
    <div id="verify-ways" class="uc-ui-verify-ways">
      <div class="uc-ui-verify-way" data-way="mobile_sms_verify">接收短信验证码</div>
      <div class="uc-ui-verify-way" data-way="face_verify">刷脸验证</div>
    </div>
    <div id="verify-sms" class="uc-ui-verify-sms-verify" hidden>
      <p>验证码将发送至 <span id="sms-mobile"></span></p>
      <div class="uc-ui-verify_sms-input">
        <input id="button-input" type="text" inputmode="numeric" maxlength="6" placeholder="请输入验证码">
        <button class="uc-ui-verify_sms-input_button" type="button">获取验证码</button>
      </div>
      <p class="uc-ui-verify_error"></p>
      <button class="uc-ui-verify-submit primary" type="button">验证</button>
    </div>
    <div id="verify-face" hidden><p>请使用抖音App扫码完成刷脸验证</p></div>
  </div>
</div>"""

# The public risk signals: an interstitial titled "验证码中间页" holding a slider captcha
# (#captcha_container, background #captcha-verify-image).
RISK_TITLE = "验证码中间页"
RISK_BODY = """
<div class="verify-page">
  <h1>安全验证</h1>
  <p class="muted">检测到当前账号环境存在异常，请完成验证后继续使用</p>
  <div id="captcha_container" class="captcha-Kd8sa">
    <div class="captcha-verify-bg"><img id="captcha-verify-image" alt="" src="data:,"></div>
    <div><img class="captcha-verify-piece" alt="" src="data:,"></div>
    <div class="verify-slider">拖动滑块完成拼图</div>
    <a class="secsdk_captcha_refresh" onclick="location.reload()">刷新</a>
  </div>
</div>"""


async def login(request: Request) -> Response:
    if caller(request) is not None:
        return RedirectResponse(HOME, 302)
    return _document("抖音创作者中心 - 登录", LOGIN_BODY, script=SCRIPTS["login"])


def _creator_page(request: Request, title: str, body: str, script: str) -> Response:
    who = caller(request)
    if who is None:
        return RedirectResponse("/", 302)
    if who.account.risk_control:
        return _document(RISK_TITLE, RISK_BODY)
    return _document(
        f"{title} - 抖音创作者中心",
        _layout(request, who, body),
        head=f'\n<meta name="csrf-token" content="{html.escape(who.session.csrf_token)}">',
        script=COMMON_JS + SCRIPTS[script],
    )


def _layout(request: Request, who: Caller, body: str) -> str:
    user = who.user
    me = (
        msgspec.json.encode(
            {
                "uid": user.uid,
                "sec_uid": user.sec_uid,
                "nickname": user.nickname,
                "avatar": f"{who.base}{user.avatar}",
                "ip_label": user.ip_label,
                "variants": who.world.variants,
            }
        )
        .decode()
        .replace("</", "<\\/")
    )  # a nickname must not close the script element
    nav = "".join(
        f'<a href="{path}" class="{"active" if request.url.path == path else ""}">{label}</a>' for path, label in NAV
    )
    name = html.escape(user.nickname)
    return f"""
<header class="header-Hc8Wq">
  <a class="logo-Wd1xq" href="{HOME}">抖音创作者中心</a>
  <div class="header-right"><span class="header-nickname">{name}</span>
    <div id="header-avatar" class="avatar-Nd8Xh"><img src="{html.escape(user.avatar)}" alt="{name}"></div></div>
</header>
<div class="layout-Tq8mv"><nav class="sider-Zk3sa">{nav}</nav>
<main class="content-Jd8sw">{body}</main></div>
<script id="sandbox-me" type="application/json">{me}</script>"""


async def home(request: Request) -> Response:
    body = '<section id="account-card" class="card account-card-Vb7dq"></section>'
    return _creator_page(request, "首页", body, "home")


async def works(request: Request) -> Response:
    body = """<div class="card"><h2>作品管理</h2><span id="works-total" class="muted"></span></div>
<div id="work-list" class="work-list"></div>
<p id="works-end" class="muted list-end"></p>"""
    return _creator_page(request, "作品管理", body, "works")


async def comments(request: Request) -> Response:
    body = """<div class="card"><div class="comment-header">
  <button id="select-work" class="select-work-btn">选择作品</button>
  <div id="current-work" class="current-work" data-aweme-id=""></div></div>
  <div id="work-picker" class="work-picker" hidden><div id="work-options"></div>
    <button id="work-options-more" hidden>加载更多</button></div>
  <div id="publish-box" class="publish-box-Qm7zc" hidden>
    <div contenteditable="true" class="input-d24X73" data-placeholder="有爱评论，说点好听的~"></div>
    <button class="douyin-creator-interactive-button">
      <span class="douyin-creator-interactive-button-content">发送</span></button>
  </div>
  <div id="comment-list" class="comment-list"></div>
  <p id="comments-end" class="muted list-end">请选择作品</p>
</div>"""
    return _creator_page(request, "评论管理", body, "comments")


async def work_detail(request: Request) -> Response:
    """The newer generation's page of one work; the older one has none (the path lands on home)."""
    who = caller(request)
    if who is not None and who.world.variants.comment_page != "work_detail":
        return RedirectResponse(HOME, 302)
    body = """<div class="card"><h2 id="work-title"></h2>
  <div role="tablist"><span role="tab" class="tab active">评论管理</span></div>
  <div id="publish-box" class="comment-input-Vt3xe">
    <div contenteditable="true" class="editable-input-Cz3mw" data-placeholder="有爱评论，说点好听的~"></div>
    <div role="button" class="send-btn-Pk9qe">发送</div>
  </div>
  <div id="comment-list" class="comment-list"></div>
  <p id="comments-end" class="muted list-end"></p>
</div>"""
    return _creator_page(request, "作品详情", body, "work_detail")


async def chat(request: Request) -> Response:
    body = """<div id="sub-app" class="chat-layout-Pz7rd">
  <div class="conversation-panel-Hx2ka">
    <div role="tablist" class="chat-tabs"><span role="tab" class="tab active">全部</span>
      <span role="tab" class="tab">朋友私信</span><span role="tab" class="tab">陌生人</span></div>
    <div class="ReactVirtualized__Grid conversation-list" role="grid">
      <div class="ReactVirtualized__Grid__innerScrollContainer" role="rowgroup"></div></div>
  </div>
  <div id="chat-box" class="chat-box"><div class="chat-empty">选择一个会话开始聊天</div></div>
</div>"""
    return _creator_page(request, "私信管理", body, "chat")


async def elsewhere(request: Request) -> Response:
    """Any other creator path lands on the home page, or the login view when logged out."""
    return RedirectResponse(HOME if caller(request) else "/", 302)


routes = [
    Route("/", login),
    Route(HOME, home),
    Route("/creator-micro/content/manage", works),
    Route("/creator-micro/interactive/comment", comments),
    Route("/creator-micro/data/following/chat", chat),
    Route(WORK_DETAIL + "{aweme_id}", work_detail),
    Route("/creator-micro/{rest:path}", elsewhere),
]
