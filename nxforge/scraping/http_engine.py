"""The http engine: httpx for pages and JSON APIs, an order of magnitude cheaper than a browser.

This file is one scrape's flow: load, log in when needed, follow the navigate steps, read the
values, log off or keep the session. The requests themselves (shared pools, whole-request
deadlines, size caps, binary answers) are ``http_client.HttpClients``'s job.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from .auth import fetch_token, form_fields, logged_in, login_refused
from .config import CookieAuth, FormAuth, TokenAuth
from .context import RunContext
from .document import Document
from .http_client import HttpClients
from .http_status import keeps_session, raise_for_status
from .limits import MAX_BODY_BYTES
from .protocol_config import RedfishSessionAuth
from .reading import read_values
from .redfish_session import TOKEN_HEADER, RedfishSession
from .redfish_session import login as redfish_login
from .redfish_session import logout as redfish_logout
from .result import ReadValue
from .session import SessionStore

log = logging.getLogger(__name__)


class HttpEngine:
    """Runs http-engine scrapes on the shared clients."""

    def __init__(self, sessions: SessionStore, max_connections: int = 64,
                 max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self.sessions = sessions
        self.clients = HttpClients(max_connections=max_connections, max_body_bytes=max_body_bytes)

    async def aclose(self) -> None:
        """Close the pooled connections."""
        await self.clients.aclose()

    async def run(self, ctx: RunContext) -> dict[str, ReadValue]:
        """Load (where a kept login landed, else ``url``), log in when needed, navigate, read values."""
        config, auth = ctx.config, ctx.config.auth
        keep = keeps_session(config)
        fetch = self.clients.fetch
        key = ctx.session_key or ctx.key
        shared = key != ctx.key  # endpoints of a one-session device: the login an earlier one left open
        state = self.sessions.load(key) if keep or shared else None
        async with self.clients.scoped_client(ctx, (state or {}).get("cookies")) as client:
            headers: dict[str, str] = {}
            token: str | None = None
            redfish: RedfishSession | None = None
            if isinstance(auth, CookieAuth):
                host = urlsplit(config.url).hostname or ""
                client.cookies.set(auth.cookie_name, ctx.secrets.resolve_secret(auth.cookie_value), domain=host)
            if isinstance(auth, TokenAuth):
                token = (state or {}).get("token") or await fetch_token(self.clients, client, ctx)
                ctx.secrets.add(token)
                headers[auth.header] = auth.prefix + token
            if isinstance(auth, RedfishSessionAuth):
                kept_token = (state or {}).get("token")
                if kept_token:
                    ctx.secrets.add(kept_token)
                    redfish = RedfishSession(kept_token, (state or {}).get("session_url"))
                else:
                    redfish = await redfish_login(self.clients, client, ctx)
                    ctx.mark("login")
                headers[TOKEN_HEADER] = redfish.token
            kept_landing = (state or {}).get("landing") if isinstance(auth, FormAuth) else None
            resumed = False
            read = False
            landing: str | None = None
            try:
                if isinstance(auth, FormAuth) and kept_landing:  # start where the last login landed
                    response, document = await fetch(client, ctx, "GET", kept_landing, headers=headers)
                    resumed = response.status_code < 400 and logged_in(document, auth)
                if not resumed:
                    response, document = await fetch(client, ctx, "GET", config.url, headers=headers)
                if response.status_code == 401 and state and state.get("token"):  # the kept token expired
                    if isinstance(auth, TokenAuth):
                        token = await fetch_token(self.clients, client, ctx)
                        ctx.secrets.add(token)
                        headers[auth.header] = auth.prefix + token
                    elif isinstance(auth, RedfishSessionAuth):
                        redfish = await redfish_login(self.clients, client, ctx)
                        ctx.mark("login again")
                        headers[TOKEN_HEADER] = redfish.token
                    response, document = await fetch(client, ctx, "GET", config.url, headers=headers)
                check_status(response, ctx, None)
                ctx.mark("first load")
                if isinstance(auth, FormAuth) and not resumed and \
                        not (auth.keep_session and state and logged_in(document, auth)):
                    document = await self._form_login(client, ctx, auth, document)
                    landing = document.url
                    ctx.mark("login")
                for index, step in enumerate(config.steps):
                    target = urljoin(document.url, ctx.secrets.resolve(getattr(step, "url", "")))
                    response, document = await fetch(
                        client, ctx, "GET", target, headers=headers, step_index=index, timeout_s=step.timeout_s
                    )
                    check_status(response, ctx, index)
                    ctx.mark(f"step {index} navigate")
                values = read_values(config, document)
                ctx.mark("values")
                read = True
            finally:
                logged_in_at = landing or (kept_landing if resumed else None)
                if isinstance(auth, FormAuth) and auth.logout_url and logged_in_at and \
                        not (read and ctx.stay_logged_in):
                    await self._logout(client, ctx, urljoin(logged_in_at, auth.logout_url))
                    if shared:
                        self.sessions.clear(key)
                if redfish is not None and not (read and (keep or ctx.stay_logged_in)):
                    await redfish_logout(client, ctx, redfish)  # a failed read logs off too: no slot left held
                    if keep or shared:
                        self.sessions.clear(key)
            if keep or (shared and ctx.stay_logged_in):
                self.sessions.save(key, _cookie_list(client), redfish.token if redfish else token, ctx.secrets.values,
                                   landing=landing or kept_landing, session_url=redfish.location if redfish else None)
            return values

    async def _form_login(
        self, client: httpx.AsyncClient, ctx: RunContext, auth: FormAuth, page: Document
    ) -> Document:
        """GET the login page (unless already on it), fill the form, submit, check it worked."""
        if auth.login_url:
            login_url = urljoin(ctx.config.url, auth.login_url)
            if page.url.split("?")[0] != login_url.split("?")[0]:
                _, page = await self.clients.fetch(client, ctx, "GET", login_url)
        username = ctx.secrets.resolve(auth.username)
        password = ctx.secrets.resolve_secret(auth.password)
        method, action, fields = form_fields(page, auth, username, password, ctx)
        if method == "GET":
            response, document = await self.clients.fetch(client, ctx, "GET", action, params=fields)
        else:
            response, document = await self.clients.fetch(client, ctx, "POST", action, data=fields)
        if response.status_code >= 500:
            check_status(response, ctx, None)
        if not logged_in(document, auth):
            self.sessions.clear(ctx.session_key or ctx.key)
            raise login_refused(ctx, document.url, document.visible_text())
        return document

    async def _logout(self, client: httpx.AsyncClient, ctx: RunContext, url: str) -> None:
        """Log off so one-session-at-a-time devices accept the next login; failures only logged."""
        budget = min(3.0, ctx.config.timeout_s)
        try:
            async with asyncio.timeout(budget):
                async with client.stream("GET", url, timeout=budget) as response:
                    async for _ in response.aiter_raw():
                        pass  # drain so the connection can be reused; bounded by the deadline
        except TimeoutError:
            log.info("log-off from %s took longer than %.1fs; abandoned", ctx.key, budget)
        except httpx.HTTPError as exc:
            log.info("log-off from %s failed: %s", ctx.key, ctx.secrets.redact(str(exc)))


def _cookie_list(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    return [
        {"name": c.name, "value": c.value or "", "domain": c.domain, "path": c.path or "/",
         "expires": c.expires if c.expires is not None else -1, "httpOnly": False, "secure": bool(c.secure),
         "sameSite": "Lax"}
        for c in client.cookies.jar
    ]


def check_status(response: httpx.Response, ctx: RunContext, step_index: int | None) -> None:
    """Raise the failure an HTTP error status means (see ``http_status``)."""
    if response.status_code >= 400:
        raise_for_status(response.status_code, ctx.secrets.redact(str(response.url)), step_index)
