"""Redfish session login and logout (DMTF DSP0266, "Session management"), for the http engine.

A Redfish service limits how many sessions are open at once (often 4 or fewer on a PDU's card),
and a session left open holds a slot until it times out (30 minutes is usual). So the engine
logs in by POST of ``{"UserName", "Password"}`` to ``SessionService/Sessions``, sends the
``X-Auth-Token`` it gets on every read, and DELETEs the session's ``Location`` when done; with
``keep_session: true`` it keeps the token and the Location for the next run instead and logs in
again when the device answers 401. The token is a secret: it joins the redaction set the moment
it arrives, and the Location is kept only when it does not contain it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urljoin

import httpx

from .errors import ScrapeFailure
from .http_status import CREDENTIALS_HINT, raise_for_status

if TYPE_CHECKING:
    from .config import ScrapeConfig
    from .context import RunContext
    from .http_client import HttpClients

log = logging.getLogger(__name__)

TOKEN_HEADER = "X-Auth-Token"
SERVICE_ROOT = "/redfish/v1/"
SESSIONS_PATH = "SessionService/Sessions"
LIMIT_HINT = ("the device has as many sessions open as it allows: wait for them to time out, or log them off on "
              "the device; several endpoints on one device: set session_limit: 1 so they share one session")


@dataclass(frozen=True)
class RedfishSession:
    """An open session: the token to send and where to DELETE it (None when the device gave none)."""

    token: str
    location: str | None


def sessions_url(config: ScrapeConfig) -> str:
    """The absolute URL to POST a login to: ``sessions_url`` when given, else under the service root."""
    given = getattr(config.auth, "sessions_url", None)
    if given:
        return urljoin(config.url, given)
    url = config.url.split("?")[0]
    at = url.find(SERVICE_ROOT)
    root = url[: at + len(SERVICE_ROOT)] if at >= 0 else urljoin(url, SERVICE_ROOT)
    return root + SESSIONS_PATH


async def login(clients: HttpClients, client: httpx.AsyncClient, ctx: RunContext) -> RedfishSession:
    """POST the credentials; the token from ``X-Auth-Token``, the session from ``Location`` (or ``@odata.id``)."""
    auth = ctx.config.auth
    url = sessions_url(ctx.config)
    shown = ctx.secrets.redact(url)
    body = {"UserName": ctx.secrets.resolve(getattr(auth, "username", "")),
            "Password": ctx.secrets.resolve_secret(getattr(auth, "password", ""))}
    response, document = await clients.fetch(client, ctx, "POST", url, json=body)
    token = response.headers.get(TOKEN_HEADER)
    if token:
        ctx.secrets.add(token)  # before anything can log or keep it
    said = ctx.secrets.redact(" ".join(document.text.split())[:200])
    if "SessionLimitExceeded" in document.text:
        raise ScrapeFailure("auth_failed", f"{shown} refused a new session: too many are open ({said})",
                            hint=LIMIT_HINT)
    if response.status_code >= 500:
        raise_for_status(response.status_code, shown, None)
    if response.status_code >= 400:
        raise ScrapeFailure("auth_failed", f"the Redfish login at {shown} was refused (HTTP {response.status_code}): "
                            f"{said or '(no message)'}", hint=CREDENTIALS_HINT)
    if not token:
        raise ScrapeFailure("auth_failed", f"the Redfish login at {shown} answered HTTP {response.status_code} "
                            f"without an {TOKEN_HEADER} header", hint="check sessions_url: it must be the "
                            "service's SessionService/Sessions collection")
    location = response.headers.get("location")
    if not location:
        try:
            odata_id = document.json().get("@odata.id")
        except (ValueError, AttributeError, ScrapeFailure):
            odata_id = None
        location = odata_id if isinstance(odata_id, str) else None
    log.debug("Redfish session opened for %s", ctx.key)
    return RedfishSession(token, urljoin(url, location) if location else None)


async def logout(client: httpx.AsyncClient, ctx: RunContext, session: RedfishSession) -> None:
    """DELETE the session so its slot is free for the next client; failures are only logged."""
    if session.location is None:
        log.info("%s: the Redfish login gave no session location; it stays open until the device times it out",
                 ctx.key)
        return
    budget = min(3.0, ctx.config.timeout_s)
    try:
        async with asyncio.timeout(budget):
            response = await client.request("DELETE", session.location, headers={TOKEN_HEADER: session.token},
                                            timeout=budget)
        if response.status_code >= 400 and response.status_code not in (401, 404):  # 401/404: already gone
            log.info("log-off from %s: the device answered HTTP %d", ctx.key, response.status_code)
        else:
            log.debug("Redfish session closed for %s", ctx.key)
    except TimeoutError:
        log.info("log-off from %s took longer than %.1fs; abandoned", ctx.key, budget)
    except httpx.HTTPError as exc:
        log.info("log-off from %s failed: %s", ctx.key, ctx.secrets.redact(str(exc)))
