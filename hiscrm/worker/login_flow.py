"""A login_start command, as facts: the QR (and each refresh), verification demands and refused SMS codes,
then success or failure.

SMS codes reach a login as login_sms_code commands (the operator's code, sealed); `offer_code` keeps the
newest one until the platform flow takes it, and a code older than one already taken is ignored, so a
command delivered again after a newer code cannot undo it."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable

from playwright.async_api import Error as PlaywrightError

from hiscrm.facts.catalogue import (
    LoginFailed,
    LoginQrcodeReady,
    LoginQrcodeRefreshed,
    LoginSmsCodeRejected,
    LoginSucceeded,
    LoginVerificationRequired,
)
from hiscrm.facts.messages import LoginStart
from hiscrm.platforms import base
from hiscrm.store.event_store import EventStore

log = logging.getLogger(__name__)


class LoginFacts:
    """A platform's LoginReport that appends each step as a fact of the login session."""

    def __init__(self, store: EventStore, cmd: LoginStart, worker_id: str) -> None:
        self.store = store
        self.cmd = cmd
        self.worker_id = worker_id
        self._demands = 0
        self._code: str | None = None
        self._code_seq = 0  # the fact sequence of the newest code offered
        self._taken_seq = 0  # ... and of the code handed to the platform last

    def offer_code(self, seq: int, code: str) -> None:
        if seq > self._code_seq:
            self._code, self._code_seq = code, seq

    def sms_code(self) -> str | None:
        code, self._code = self._code, None
        if code is not None:
            self._taken_seq = self._code_seq
        return code

    async def sms_code_rejected(self, reason: str, code: str) -> None:
        await self.store.append(
            LoginSmsCodeRejected(
                login_id=self.cmd.login_id,
                account_id=self.cmd.account_id,
                reason=reason,
                code=code,
                worker_id=self.worker_id,
            ),
            msg_id=f"{self.cmd.login_id}:sms_code_rejected:{self._taken_seq}",
        )

    async def qrcode(self, data_url: str, expires_at_ms: int | None, *, refreshed: bool) -> None:
        kind = LoginQrcodeRefreshed if refreshed else LoginQrcodeReady
        await self.store.append(
            kind(
                login_id=self.cmd.login_id,
                account_id=self.cmd.account_id,
                qrcode=data_url,
                qr_expires_at_ms=expires_at_ms,
                worker_id=self.worker_id,
            )
        )

    async def verification_required(self, method: str, message: str | None) -> None:
        self._demands += 1
        await self.store.append(
            LoginVerificationRequired(
                login_id=self.cmd.login_id, account_id=self.cmd.account_id, method=method, message=message
            ),
            msg_id=f"{self.cmd.login_id}:verification_required:{self._demands}",
        )

    async def failed(self, reason: str, code: str) -> None:
        await self.store.append(
            LoginFailed(login_id=self.cmd.login_id, account_id=self.cmd.account_id, reason=reason, code=code),
            msg_id=f"{self.cmd.login_id}:failed",
        )

    async def succeeded(self, result: base.LoginResult, sealed: str) -> None:
        await self.store.append(
            LoginSucceeded(
                login_id=self.cmd.login_id,
                account_id=self.cmd.account_id,
                profile=result.profile,
                sealed_credentials=sealed,
                worker_id=self.worker_id,
            ),
            msg_id=f"{self.cmd.login_id}:succeeded",
        )


async def settle_login(facts: LoginFacts, attempt: Awaitable[base.LoginResult]) -> base.LoginResult | None:
    """Awaits the platform's login and turns its ending into a fact; the result on success.

    Reaching the deadline appends nothing: the coordinator expires the session at that time."""
    try:
        return await attempt
    except TimeoutError:
        log.info("login %s: nobody scanned before %s", facts.cmd.login_id, time.ctime(facts.cmd.expires_at_ms / 1000))
    except base.LoginFailed as exc:
        await facts.failed(exc.reason, exc.code)
    except base.PlatformTrouble as exc:
        await facts.failed(exc.detail, exc.code)
    except (base.PlatformError, PlaywrightError) as exc:
        await facts.failed(f"the login page failed: {exc}", "page_error")
    return None
