"""The http engine's transport: shared httpx clients and one bounded request.

One ``AsyncClient`` (and its connection pool) per TLS mode is shared by every scrape; each
scrape works on a shallow copy of it with its own cookie jar and auth, so cookies never leak
from one endpoint to another and nothing heavy is built per scrape.

Hostile devices are bounded here: every request runs under a whole-request deadline (httpx's
timeouts are per read, so a device trickling one byte a second would never trip them), bodies
are capped at ``max_body_bytes`` (checked against Content-Length first, then while streaming),
and binary answers are refused with a message instead of being parsed as HTML.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import ssl
from typing import Any

import httpx

from .config import BasicAuth, DigestAuth
from .context import RunContext, Snapshot
from .document import Document
from .errors import ScrapeFailure
from .http_status import BINARY_HINT, TLS_HINT, UNREACHABLE_HINT, redirect_loop
from .limits import EVIDENCE_PREFIX_CHARS, MAX_BODY_BYTES, size_text

log = logging.getLogger(__name__)

MAX_REDIRECTS = 5
USER_AGENT = "NxForge/0.1 (meter reader)"
BINARY_TYPES = ("image/", "audio/", "video/", "font/", "application/octet-stream", "application/zip",
                "application/gzip", "application/x-gzip", "application/pdf", "application/x-tar")


class HttpClients:
    """The shared clients and their connection pools; hands each scrape a view of its own."""

    def __init__(self, max_connections: int = 64, max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self.max_body_bytes = max_body_bytes
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        self._clients = {
            verify: httpx.AsyncClient(
                transport=httpx.AsyncHTTPTransport(verify=ssl.create_default_context() if verify else False,
                                                   limits=limits),
                follow_redirects=True,
                max_redirects=MAX_REDIRECTS,
                headers={"User-Agent": USER_AGENT},
                trust_env=False,
            )
            for verify in (True, False)
        }

    async def aclose(self) -> None:
        """Close the pooled connections."""
        for client in self._clients.values():
            await client.aclose()

    def client(self, ctx: RunContext, cookies: list[dict[str, Any]] | None = None) -> httpx.AsyncClient:
        """A per-scrape view of the shared client: own cookie jar and auth, shared pool."""
        auth: httpx.Auth | None = None
        cfg_auth = ctx.config.auth
        if isinstance(cfg_auth, BasicAuth | DigestAuth):
            username = ctx.secrets.resolve(cfg_auth.username)
            password = ctx.secrets.resolve_secret(cfg_auth.password)
            auth = httpx.BasicAuth(username, password) if isinstance(cfg_auth, BasicAuth) else httpx.DigestAuth(
                username, password
            )
        # A shallow copy shares the transport, headers and settings (none of which a scrape
        # changes) and is ~6x cheaper than building an AsyncClient per scrape.
        client = copy.copy(self._clients[ctx.config.verify_tls])
        client.cookies = httpx.Cookies()
        if auth is not None:  # the shared client has none
            client.auth = auth
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
        """One request, bounded in time (whole request) and size; trouble becomes a classified failure."""
        shown = ctx.secrets.redact(url)
        ctx.check_deadline(f"before {method} {shown}")
        budget = ctx.remaining(timeout_s)
        ctx.snapshot = Snapshot(url=url, source=f"<!-- no response yet from {method} {url} -->")
        body = bytearray()
        response: httpx.Response | None = None
        try:
            async with asyncio.timeout(budget):
                async with client.stream(method, url, timeout=budget, **kwargs) as response:
                    self._check_declared_size(response, ctx, shown, step_index)
                    async for chunk in response.aiter_bytes():
                        body += chunk
                        if len(body) > self.max_body_bytes:
                            raise self._too_big(response, ctx, body, shown, step_index)
        except TimeoutError:
            raise self._deadline_failure(response, ctx, body, shown, budget, step_index) from None
        except httpx.HTTPError as exc:
            raise classify_http_error(exc, shown, step_index) from None
        content_type = response.headers.get("content-type", "")
        if response.status_code < 400 and looks_binary(content_type, body):
            raise self._binary(response, ctx, body, shown, step_index)
        text = body.decode(response.encoding or "utf-8", errors="replace")
        document = Document(str(response.url), text, content_type)
        ctx.snapshot = Snapshot(url=document.url, source=text)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s %s -> %s (%d bytes)", method, ctx.secrets.redact(str(response.url)), response.status_code,
                      len(body))
        return response, document

    def _check_declared_size(self, response: httpx.Response, ctx: RunContext, shown: str,
                              step_index: int | None) -> None:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            ctx.snapshot = Snapshot(url=str(response.url), source=(
                f"<!-- NxForge did not read this page: it declares {int(declared)} bytes "
                f"(Content-Length), more than the {self.max_body_bytes} bytes allowed -->"))
            raise ScrapeFailure(
                "step_failed",
                f"{shown} announced a {size_text(int(declared))} page; NxForge reads at most "
                f"{size_text(self.max_body_bytes)} and did not download it",
                hint="a meter's status page is a few kB: check that the url points at it (not a log, "
                "export or firmware file)", step_index=step_index)

    def _too_big(self, response: httpx.Response, ctx: RunContext, body: bytearray, shown: str,
                 step_index: int | None) -> ScrapeFailure:
        prefix = bytes(body[:EVIDENCE_PREFIX_CHARS]).decode(response.encoding or "utf-8", errors="replace")
        ctx.snapshot = Snapshot(url=str(response.url), source=(
            f"{prefix}\n<!-- truncated by NxForge: the device kept sending past {self.max_body_bytes} bytes -->"))
        declared = response.headers.get("content-length")
        how = "with no Content-Length" if declared is None else f"although it declared {declared} bytes"
        return ScrapeFailure(
            "step_failed",
            f"{shown} sent more than {size_text(self.max_body_bytes)} ({how}); NxForge stopped reading",
            hint="a meter's status page is a few kB: check the url, or the device is streaming garbage "
            "(restart it)", step_index=step_index)

    def _deadline_failure(self, response: httpx.Response | None, ctx: RunContext, body: bytearray, shown: str,
                          budget: float, step_index: int | None) -> ScrapeFailure:
        if response is None:
            what = "it accepted the connection but sent no complete response headers"
        else:
            what = f"it answered HTTP {response.status_code} but sent only {len(body)} bytes of the body"
            ctx.snapshot = Snapshot(url=str(response.url), source=(
                bytes(body[:EVIDENCE_PREFIX_CHARS]).decode(response.encoding or "utf-8", errors="replace")
                + "\n<!-- incomplete: the device stopped or trickled; NxForge gave up at the deadline -->"))
        return ScrapeFailure(
            "timeout", f"{shown} did not finish answering within {budget:.1f}s ({what})",
            hint="the device is hung or trickling its answer; raise timeout_s only if it is always this slow",
            step_index=step_index)

    def _binary(self, response: httpx.Response, ctx: RunContext, body: bytearray, shown: str,
                step_index: int | None) -> ScrapeFailure:
        content_type = response.headers.get("content-type") or "no Content-Type"
        ctx.snapshot = Snapshot(url=str(response.url), source=(
            f"<!-- binary response not kept: {len(body)} bytes of {content_type}, "
            f"starting {bytes(body[:16]).hex(' ')} -->"))
        return ScrapeFailure(
            "selector_not_found",
            f"{shown} answered binary content ({content_type}, {size_text(len(body))}), not an HTML page or JSON: "
            "no value can be read from it",
            hint=BINARY_HINT, step_index=step_index)


class _Scope:
    """Async context for a per-scrape client that must not close the shared transport."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def __aenter__(self) -> httpx.AsyncClient:
        return self.client

    async def __aexit__(self, *exc: object) -> None:
        self.client.cookies.clear()


def classify_http_error(exc: httpx.HTTPError, url: str, step_index: int | None) -> ScrapeFailure:
    """Map an httpx exception to one error class with a message that says what happened."""
    text = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        return ScrapeFailure("timeout", f"{url} did not answer in time ({type(exc).__name__})",
                             hint="the device is slow or unreachable; raise timeout_s if it is always slow")
    if "CERTIFICATE" in text.upper() or "SSL" in text.upper() or isinstance(exc.__cause__, ssl.SSLError):
        return ScrapeFailure("tls", f"TLS failed for {url}: {text}",
                             hint=TLS_HINT)
    if isinstance(exc, httpx.TooManyRedirects):
        try:
            last: str | None = str(exc.request.url)
        except RuntimeError:
            last = None
        return redirect_loop(url, f"more than {MAX_REDIRECTS} times", last, step_index)
    if isinstance(exc, httpx.TransportError):
        return ScrapeFailure("unreachable", f"could not read {url}: {text}",
                             hint=UNREACHABLE_HINT)
    return ScrapeFailure("step_failed", f"request to {url} failed: {text}", step_index=step_index)


def looks_binary(content_type: str, body: bytes | bytearray) -> bool:
    """True for a binary body: a binary media type, or NUL bytes (never in HTML, JSON or text)."""
    kind, _, params = content_type.lower().partition(";")
    if kind.strip().startswith(BINARY_TYPES):
        return True
    if "utf-16" in params or "utf-32" in params:
        return False  # NUL bytes are normal there
    return b"\x00" in body[:8192]
