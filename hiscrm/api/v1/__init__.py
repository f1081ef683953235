"""The admin API under /api/v1, one module per resource; envelope `{success, data | error}`, role admin."""

from __future__ import annotations

from typing import Any

from hiscrm.api.v1 import accounts, activity, logins, proxies, replies, status, tokens, worker_processes, workers

ROUTER_MODULES: list[Any] = [accounts, logins, workers, worker_processes, replies, proxies, status, activity, tokens]
