"""A browser fingerprint fixed per account: the same account always looks like the same computer.

Derived from the account id alone, so it survives restarts and moves between workers without
being stored anywhere. The Chrome version is the real browser's, so the user agent never claims
features the engine does not have.
"""

from __future__ import annotations

import hashlib

import msgspec

LOCALE = "zh-CN"
TIMEZONE = "Asia/Shanghai"

# (user-agent platform token, navigator.platform, WebGL vendor, WebGL renderers)
_MACHINES = (
    (
        "Windows NT 10.0; Win64; x64",
        "Win32",
        "Google Inc. (NVIDIA)",
        (
            "ANGLE (NVIDIA, NVIDIA GeForce GTX 1660 SUPER Direct3D11 vs_5_0 ps_5_0, D3D11)",
            "ANGLE (NVIDIA, NVIDIA GeForce RTX 3060 Direct3D11 vs_5_0 ps_5_0, D3D11)",
        ),
    ),
    (
        "Windows NT 10.0; Win64; x64",
        "Win32",
        "Google Inc. (Intel)",
        (
            "ANGLE (Intel, Intel(R) UHD Graphics 630 Direct3D11 vs_5_0 ps_5_0, D3D11)",
            "ANGLE (Intel, Intel(R) Iris(R) Xe Graphics Direct3D11 vs_5_0 ps_5_0, D3D11)",
        ),
    ),
    (
        "Macintosh; Intel Mac OS X 10_15_7",
        "MacIntel",
        "Google Inc. (Apple)",
        ("ANGLE (Apple, ANGLE Metal Renderer: Apple M1, Unspecified Version)",),
    ),
)
_SCREENS = ((1920, 1080), (1536, 864), (1440, 900), (1366, 768), (1680, 1050), (1600, 900))
_CORES = (4, 8, 12, 16)


class Fingerprint(msgspec.Struct, frozen=True, kw_only=True):
    user_agent: str
    platform: str
    width: int
    height: int
    hardware_concurrency: int
    webgl_vendor: str
    webgl_renderer: str

    def init_script(self) -> str:
        """Runs before any page script: hides automation and keeps navigator and WebGL consistent."""
        values = msgspec.json.encode(
            [self.platform, self.hardware_concurrency, self.webgl_vendor, self.webgl_renderer]
        ).decode()
        return f"""(() => {{
  const [platform, cores, vendor, renderer] = {values};
  const define = (obj, name, value) => Object.defineProperty(obj, name, {{get: () => value, configurable: true}});
  define(Navigator.prototype, 'webdriver', undefined);
  define(Navigator.prototype, 'platform', platform);
  define(Navigator.prototype, 'hardwareConcurrency', cores);
  for (const gl of [window.WebGLRenderingContext, window.WebGL2RenderingContext]) {{
    if (!gl) continue;
    const original = gl.prototype.getParameter;
    gl.prototype.getParameter = function (p) {{
      if (p === 37445) return vendor;    // UNMASKED_VENDOR_WEBGL
      if (p === 37446) return renderer;  // UNMASKED_RENDERER_WEBGL
      return original.call(this, p);
    }};
  }}
}})();"""


def fingerprint_for(account_id: str, chrome_version: str) -> Fingerprint:
    seed = hashlib.sha256(f"hiscrm-fingerprint:{account_id}".encode()).digest()
    ua_platform, platform, vendor, renderers = _MACHINES[seed[0] % len(_MACHINES)]
    width, height = _SCREENS[seed[1] % len(_SCREENS)]
    major = chrome_version.split(".")[0]
    return Fingerprint(
        user_agent=(
            f"Mozilla/5.0 ({ua_platform}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{major}.0.0.0 Safari/537.36"
        ),
        platform=platform,
        width=width,
        height=height,
        hardware_concurrency=_CORES[seed[2] % len(_CORES)],
        webgl_vendor=vendor,
        webgl_renderer=renderers[seed[3] % len(renderers)],
    )
