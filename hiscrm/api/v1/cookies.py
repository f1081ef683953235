"""A browser session exported by an operator, as the worker's browser takes it (Playwright's storage state).

Two forms are accepted: the JSON array that common cookie extensions export (EditThisCookie,
Cookie-Editor: `name, value, domain, path, expirationDate, httpOnly, secure, sameSite, ...`; Playwright's
own `expires` too), and a `Cookie:` header string copied from the browser's developer tools, which
names no domain, so the cookies go to `domain` (the platform's cookie domain unless told otherwise).
The export must carry the session cookie; anything else about it is the worker's to prove.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from hiscrm.api.errors import bad_request

DEFAULT_DOMAIN = ".douyin.com"
SESSION_COOKIES = ("sessionid", "sessionid_ss")
MAX_COOKIES = 500
# Extension spellings of SameSite; "unspecified" is what a browser treats as Lax.
_SAME_SITE = {"no_restriction": "None", "none": "None", "lax": "Lax", "strict": "Strict", "unspecified": "Lax"}

Domain = Annotated[str, msgspec.Meta(min_length=1, max_length=253, pattern=r"^\.?[A-Za-z0-9.\-]+$")]


class ExportedCookie(msgspec.Struct, kw_only=True):
    """One cookie as an extension exports it (camelCase, their spelling); other fields (hostOnly...) are ignored."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
    value: Annotated[str, msgspec.Meta(max_length=4096)]
    domain: Domain | None = None
    path: str = "/"
    expirationDate: float | None = None  # seconds; Playwright's own exports say `expires`
    expires: float | None = None
    httpOnly: bool = False
    secure: bool = False
    sameSite: str | None = None
    session: bool = False


class CookieExport(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    cookies: list[ExportedCookie] | Annotated[str, msgspec.Meta(min_length=1, max_length=65536)]
    domain: Domain | None = msgspec.field(default=None)


def _from_header(header: str) -> list[ExportedCookie]:
    text = header.strip()
    if text.lower().startswith("cookie:"):
        text = text[len("cookie:") :]
    cookies = []
    for part in text.split(";"):
        part = part.strip()
        if not part:
            continue
        name, sep, value = part.partition("=")
        if not sep or not name.strip():
            raise bad_request(f"cookies: {part[:40]!r} is not name=value; paste the Cookie header's value as it is")
        cookies.append(ExportedCookie(name=name.strip(), value=value.strip()))
    return cookies


def _same_site(cookie: ExportedCookie) -> str:
    same_site = _SAME_SITE.get((cookie.sameSite or "lax").lower())
    if same_site is None:
        raise bad_request(f"cookie {cookie.name!r}: sameSite {cookie.sameSite!r} is none of {', '.join(_SAME_SITE)}")
    # A browser refuses SameSite=None without Secure; as Lax it still goes with the site's own requests.
    return "Lax" if same_site == "None" and not cookie.secure else same_site


def storage_state(export: CookieExport) -> dict[str, Any]:
    """The export as a Playwright storage state; a 400 naming what is wrong with it."""
    cookies = _from_header(export.cookies) if isinstance(export.cookies, str) else export.cookies
    if not cookies:
        raise bad_request("cookies: the export holds no cookies")
    if len(cookies) > MAX_COOKIES:
        raise bad_request(f"cookies: {len(cookies)} cookies is more than a browser keeps for one site ({MAX_COOKIES})")
    if not any(c.name in SESSION_COOKIES and c.value for c in cookies):
        raise bad_request(
            "cookies: the export has no sessionid cookie, so it is not a logged-in session; export the cookies "
            "of the creator site while logged in (httpOnly ones included)"
        )
    state = []
    for cookie in cookies:
        expires = cookie.expirationDate if cookie.expirationDate is not None else cookie.expires
        state.append(
            {
                "name": cookie.name,
                "value": cookie.value,
                "domain": cookie.domain or export.domain or DEFAULT_DOMAIN,
                "path": cookie.path or "/",
                "expires": -1 if cookie.session or expires is None or expires < 0 else int(expires),
                "httpOnly": cookie.httpOnly,
                "secure": cookie.secure,
                "sameSite": _same_site(cookie),
            }
        )
    return {"cookies": state, "origins": []}
