"""An account's proxy, as Playwright takes it. The password is sealed with the master key for
`proxy:<proxy_id>` wherever it is stored, and opened only here, in the worker's memory."""

from __future__ import annotations

from hiscrm.facts.messages import ProxyConfig
from hiscrm.secrets.sealing import unseal


def playwright_proxy(proxy: ProxyConfig | None, master_key: bytes) -> dict[str, str] | None:
    if proxy is None:
        return None
    server = proxy.server if "://" in proxy.server else f"{proxy.protocol}://{proxy.server}"
    settings = {"server": server}
    if proxy.username:
        settings["username"] = proxy.username
    if proxy.sealed_password:
        settings["password"] = unseal(master_key, proxy.sealed_password, f"proxy:{proxy.proxy_id}").decode()
    return settings
