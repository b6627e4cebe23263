"""The http engine: httpx for pages and JSON APIs, an order of magnitude cheaper than a browser.

One pooled transport per TLS mode is shared by every scrape; each scrape gets its own light
``AsyncClient`` on top so cookies never leak from one endpoint to another.
"""

from __future__ import annotations

import logging
import ssl
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from .auth import fetch_token, form_fields, logged_in, login_refused
from .config import BasicAuth, CookieAuth, DigestAuth, FormAuth, TokenAuth
from .context import RunContext, Snapshot
from .document import Document
from .errors import ScrapeFailure
from .reading import read_values
from .result import ReadValue
from .session import SessionStore

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 5 * 1024 * 1024
MAX_REDIRECTS = 5
USER_AGENT = "NxForge/0.1 (meter reader)"


class HttpEngine:
    """Runs http-engine scrapes; owns the shared connection pools."""

    def __init__(self, sessions: SessionStore, max_connections: int = 64) -> None:
        self.sessions = sessions
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        self._transports = {
            True: httpx.AsyncHTTPTransport(verify=ssl.create_default_context(), limits=limits),
            False: httpx.AsyncHTTPTransport(verify=False, limits=limits),
        }

    async def aclose(self) -> None:
        """Close the pooled connections."""
        for transport in self._transports.values():
            await transport.aclose()

    def client(self, ctx: RunContext, cookies: list[dict[str, Any]] | None = None) -> httpx.AsyncClient:
        """A per-scrape client (own cookie jar) on the shared pool."""
        auth: httpx.Auth | None = None
        cfg_auth = ctx.config.auth
        if isinstance(cfg_auth, BasicAuth | DigestAuth):
            username = ctx.secrets.resolve(cfg_auth.username)
            password = ctx.secrets.resolve_secret(cfg_auth.password)
            auth = httpx.BasicAuth(username, password) if isinstance(cfg_auth, BasicAuth) else httpx.DigestAuth(
                username, password
            )
        client = httpx.AsyncClient(
            transport=self._transports[ctx.config.verify_tls],
            auth=auth,
            follow_redirects=True,
            max_redirects=MAX_REDIRECTS,
            headers={"User-Agent": USER_AGENT},
            trust_env=False,
        )
        for cookie in cookies or []:
            client.cookies.set(cookie["name"], cookie["value"], domain=cookie.get("domain", ""),
                               path=cookie.get("path", "/"))
        return client

    def scoped_client(self, ctx: RunContext, cookies: list[dict[str, Any]] | None = None) -> _Scope:
        """``async with`` form of ``client`` that leaves the shared pool open."""
        return _Scope(self.client(ctx, cookies))

    async def fetch(
        self,
        client: httpx.AsyncClient,
        ctx: RunContext,
        method: str,
        url: str,
        *,
        step_index: int | None = None,
        timeout_s: float | None = None,
        **kwargs: Any,
    ) -> tuple[httpx.Response, Document]:
        """One request, body size bounded; network trouble becomes a classified failure."""
        ctx.check_deadline(f"before {method} {ctx.secrets.redact(url)}")
        timeout = ctx.remaining(timeout_s)
        ctx.snapshot = Snapshot(url=url, source=f"<!-- no response yet from {method} {url} -->")
        try:
            async with client.stream(method, url, timeout=timeout, **kwargs) as response:
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_BODY_BYTES:
                        raise ScrapeFailure(
                            "step_failed", f"{ctx.secrets.redact(url)} sent more than {MAX_BODY_BYTES} bytes",
                            step_index=step_index,
                        )
        except httpx.HTTPError as exc:
            raise classify_http_error(exc, ctx.secrets.redact(url), step_index) from None
        text = body.decode(response.encoding or "utf-8", errors="replace")
        document = Document(str(response.url), text, response.headers.get("content-type", ""))
        ctx.snapshot = Snapshot(url=document.url, source=text)
        log.debug("%s %s -> %s (%d bytes)", method, ctx.secrets.redact(str(response.url)), response.status_code,
                  len(body))
        return response, document

    async def run(self, ctx: RunContext) -> dict[str, ReadValue]:
        """Load, log in when needed, navigate, read values; keeps the session for next time."""
        config, auth = ctx.config, ctx.config.auth
        state = self.sessions.load(ctx.key) if _keeps_session(ctx) else None
        async with self.scoped_client(ctx, (state or {}).get("cookies")) as client:
            headers: dict[str, str] = {}
            token: str | None = None
            if isinstance(auth, CookieAuth):
                host = urlsplit(config.url).hostname or ""
                client.cookies.set(auth.cookie_name, ctx.secrets.resolve_secret(auth.cookie_value), domain=host)
            if isinstance(auth, TokenAuth):
                token = (state or {}).get("token") or await fetch_token(self, client, ctx)
                ctx.secrets.add(token)
                headers[auth.header] = auth.prefix + token
            response, document = await self.fetch(client, ctx, "GET", config.url, headers=headers)
            if isinstance(auth, TokenAuth) and response.status_code == 401 and state and state.get("token"):
                token = await fetch_token(self, client, ctx)  # the kept token expired
                ctx.secrets.add(token)
                headers[auth.header] = auth.prefix + token
                response, document = await self.fetch(client, ctx, "GET", config.url, headers=headers)
            check_status(response, ctx, None)
            ctx.mark("first load")
            landing: str | None = None
            try:
                if isinstance(auth, FormAuth) and not (auth.keep_session and state and logged_in(document, auth)):
                    document = await self._form_login(client, ctx, auth, document)
                    landing = document.url
                    ctx.mark("login")
                for index, step in enumerate(config.steps):
                    target = urljoin(document.url, ctx.secrets.resolve(getattr(step, "url", "")))
                    response, document = await self.fetch(
                        client, ctx, "GET", target, headers=headers, step_index=index, timeout_s=step.timeout_s
                    )
                    check_status(response, ctx, index)
                    ctx.mark(f"step {index} navigate")
                values = read_values(config, document)
                ctx.mark("values")
            finally:
                if isinstance(auth, FormAuth) and auth.logout_url and landing:
                    await self._logout(client, ctx, urljoin(landing, auth.logout_url))
            if _keeps_session(ctx):
                self.sessions.save(ctx.key, _cookie_list(client), token, ctx.secrets.values)
            return values

    async def _form_login(
        self, client: httpx.AsyncClient, ctx: RunContext, auth: FormAuth, page: Document
    ) -> Document:
        """GET the login page (unless already on it), fill the form, submit, check it worked."""
        if auth.login_url:
            login_url = urljoin(ctx.config.url, auth.login_url)
            if page.url.split("?")[0] != login_url.split("?")[0]:
                _, page = await self.fetch(client, ctx, "GET", login_url)
        username = ctx.secrets.resolve(auth.username)
        password = ctx.secrets.resolve_secret(auth.password)
        method, action, fields = form_fields(page, auth, username, password, ctx)
        if method == "GET":
            response, document = await self.fetch(client, ctx, "GET", action, params=fields)
        else:
            response, document = await self.fetch(client, ctx, "POST", action, data=fields)
        if response.status_code >= 500:
            check_status(response, ctx, None)
        if not logged_in(document, auth):
            self.sessions.clear(ctx.key)
            raise login_refused(ctx, document.url, document.visible_text())
        return document

    async def _logout(self, client: httpx.AsyncClient, ctx: RunContext, url: str) -> None:
        """Log off so one-session-at-a-time devices accept the next login; failures only logged."""
        try:
            await client.get(url, timeout=min(3.0, ctx.config.timeout_s))
        except httpx.HTTPError as exc:
            log.info("log-off from %s failed: %s", ctx.key, ctx.secrets.redact(str(exc)))


class _Scope:
    """Async context for a per-scrape client that must not close the shared transport."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def __aenter__(self) -> httpx.AsyncClient:
        return self.client

    async def __aexit__(self, *exc: object) -> None:
        self.client.cookies.clear()


def _keeps_session(ctx: RunContext) -> bool:
    auth = ctx.config.auth
    if isinstance(auth, FormAuth):
        return auth.keep_session and not auth.logout_url
    return isinstance(auth, TokenAuth)


def _cookie_list(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    return [
        {"name": c.name, "value": c.value or "", "domain": c.domain, "path": c.path or "/",
         "expires": c.expires if c.expires is not None else -1, "httpOnly": False, "secure": bool(c.secure),
         "sameSite": "Lax"}
        for c in client.cookies.jar
    ]


def check_status(response: httpx.Response, ctx: RunContext, step_index: int | None) -> None:
    """Turn an HTTP error status into the failure class an operator expects."""
    status = response.status_code
    if status < 400:
        return
    url = ctx.secrets.redact(str(response.url))
    if status >= 500:
        raise ScrapeFailure("unreachable", f"{url} answered HTTP {status} (server error)",
                            hint="the device is busy or failing; retried automatically", step_index=step_index)
    if status in (401, 403):
        raise ScrapeFailure("auth_failed", f"{url} refused the credentials (HTTP {status})",
                            hint="check the username and the password secret", step_index=step_index)
    raise ScrapeFailure(
        "step_failed",
        f"{url} answered HTTP {status}",
        hint="check the url and the navigate steps",
        step_index=step_index,
    )


def classify_http_error(exc: httpx.HTTPError, url: str, step_index: int | None) -> ScrapeFailure:
    """Map an httpx exception to one error class with a message that says what happened."""
    text = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        return ScrapeFailure("timeout", f"{url} did not answer in time ({type(exc).__name__})",
                             hint="the device is slow or unreachable; raise timeout_s if it is always slow")
    if "CERTIFICATE" in text.upper() or "SSL" in text.upper() or isinstance(exc.__cause__, ssl.SSLError):
        return ScrapeFailure("tls", f"TLS failed for {url}: {text}",
                             hint="self-signed certificate? set verify_tls: false for this endpoint")
    if isinstance(exc, httpx.TooManyRedirects):
        return ScrapeFailure("step_failed", f"{url} redirected more than {MAX_REDIRECTS} times",
                             hint="a login loop? check auth", step_index=step_index)
    if isinstance(exc, httpx.TransportError):
        return ScrapeFailure("unreachable", f"could not read {url}: {text}",
                             hint="is the device on, and the address and port right?")
    return ScrapeFailure("step_failed", f"request to {url} failed: {text}", step_index=step_index)
