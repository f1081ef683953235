"""What a worker plugs into its agent: how it runs accounts, told through three calls.

The agent (hiscrm/worker/agent.py) owns everything on NATS; a handler owns the accounts:

- `on_config(config)`: a config key under this worker appeared, or changed to a higher revision.
  The same account may be handed a new config at any time (new credentials after a login, a new
  interval, status `disabled`): apply it live. Never called with a revision at or below the one
  the account already runs.
- `on_removed(account_id)`: the key went away (the account moved to another worker, or was
  deleted): stop running it and let go of its browser state.
- `on_command(command)`: a `LoginStart`, `LoginSmsCode`, `ReplySend` or `CrawlNow` for one of its accounts (or for
  one that moved away meanwhile). The command is acknowledged when the call returns, so return
  once it is accepted and run long work (a five-minute QR login) in a task of its own. If the call
  raises, the command is delivered again a few seconds later, so handlers must be idempotent on
  `login_id` / `reply_id`; commands are at-least-once in any case.

Config calls come in order, one at a time; command calls too, on their own task, so a slow
command never holds back a config change.
"""

from __future__ import annotations

from typing import Protocol

from hiscrm.facts.messages import AccountConfig, CrawlNow, LoginSmsCode, LoginStart, ReplySend

Command = LoginStart | ReplySend | CrawlNow | LoginSmsCode


class Handler(Protocol):
    async def on_config(self, config: AccountConfig) -> None: ...

    async def on_removed(self, account_id: str) -> None: ...

    async def on_command(self, command: Command) -> None: ...
