"""The scraping engine's synchronous facade, used by the (synchronous) collector and the app.

Inside, one asyncio event loop runs in a background thread for the engine's whole life. Why
not ``asyncio.run`` per batch: Playwright's browser, httpx's connection pools, pysnmp's engine
and pymodbus's connections belong to the loop that created them, so a loop per batch would
relaunch Chromium, rebuild the SNMP engine and reconnect every time (seconds per batch); a
long-lived loop keeps them warm, and still lets the caller stay synchronous. ``on_result``
callbacks run in the caller's thread (a SQLite connection made there stays usable).

Each device has a slot (``per_host_concurrency`` scrapes at once, ``session_limit`` when the
config says so). Endpoints of a one-session device (``session_limit: 1``) share its login: each
one that finds others queued behind it leaves the session open for them, and the last logs off.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
import time
from collections.abc import Coroutine
from concurrent.futures import Future
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from ..secrets import SecretStore
from .batches import BatchReading, Inbox
from .context import RunContext, Secrets
from .document import Document
from .errors import ConfigFailure, ScrapeFailure
from .evidence import write_evidence
from .http_engine import HttpEngine
from .limits import MAX_BODY_BYTES, PER_HOST_CONCURRENCY
from .reading import suggestions_for
from .request import ScrapeRequest
from .result import Evidence, ReadValue, ScrapeResult, StepTiming, Suggestion
from .session import SessionStore, device_key, shares_nothing

if TYPE_CHECKING:
    from .browser_engine import BrowserEngine
    from .modbus_engine import ModbusReader
    from .snmp_engine import SnmpReader

log = logging.getLogger(__name__)

T = TypeVar("T")
GRACE_S = 2.0  # the runners enforce timeout_s themselves; this only catches a hung call


class ScrapingEngine(BatchReading):
    """Reads meters through a browser, plain HTTP, SNMP or Modbus TCP with bounded concurrency; thread-safe."""

    def __init__(
        self,
        *,
        secrets: SecretStore,
        evidence_dir: Path,
        state_dir: Path,
        browser_concurrency: int = 4,
        http_concurrency: int = 64,
        per_host_concurrency: int = PER_HOST_CONCURRENCY,
        max_body_bytes: int = MAX_BODY_BYTES,
        plain_page_share: int | None = None,
    ) -> None:
        """``per_host_concurrency`` caps the scrapes running at once against one scheme://host:port,
        whatever the engine: a meter's embedded web server handles a few connections at best,
        and a small pool per host keeps httpx's per-request pool scan short.

        ``plain_page_share``: this engine is one of several reading plain web pages of one origin
        between them (``EnginePool``); it takes at most that many of an origin's plain pages at once,
        apart from the origin's other endpoints, which it alone reads at the full limit.
        """
        self.secrets = secrets
        self.evidence_dir = Path(evidence_dir)
        self.sessions = SessionStore(Path(state_dir))
        self._browser_concurrency = browser_concurrency
        self._http_concurrency = http_concurrency
        self._max_body_bytes = max_body_bytes
        self._per_host = per_host_concurrency
        self._plain_page_share = plain_page_share
        self._host_slots: dict[str, asyncio.Semaphore] = {}
        self._batch_ids = itertools.count(1)
        self._waiting: dict[str, int] = {}  # scrapes queued for each device's slot
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="nxforge-scraping", daemon=True)
        self._thread.start()
        self._closed = False
        self._call(self._setup())

    async def _setup(self) -> None:
        self._browser_slots = asyncio.Semaphore(self._browser_concurrency)
        self._http_slots = asyncio.Semaphore(self._http_concurrency)
        self.http = HttpEngine(self.sessions, max_connections=self._http_concurrency,
                               max_body_bytes=self._max_body_bytes)
        # The other readers start on first use: importing Playwright, pysnmp and pymodbus costs about
        # half a second, which a cron run of http endpoints (``collector.py --once``) would pay every time.
        self._browser: BrowserEngine | None = None
        self._snmp: SnmpReader | None = None
        self._modbus: ModbusReader | None = None

    @property
    def browser(self) -> BrowserEngine:
        """The browser engine (Playwright and Chromium), made on first use."""
        if self._browser is None:
            from .browser import BrowserPool
            from .browser_engine import BrowserEngine

            self._browser = BrowserEngine(BrowserPool(), self.http.clients, self.sessions,
                                          max_body_bytes=self._max_body_bytes)
        return self._browser

    @property
    def snmp(self) -> SnmpReader:
        """The SNMP reader (pysnmp), made on first use."""
        if self._snmp is None:
            from .snmp_engine import SnmpReader

            self._snmp = SnmpReader()
        return self._snmp

    @property
    def modbus(self) -> ModbusReader:
        """The Modbus TCP reader (pymodbus), made on first use."""
        if self._modbus is None:
            from .modbus_engine import ModbusReader

            self._modbus = ModbusReader()
        return self._modbus

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        if self._closed:
            coro.close()
            raise RuntimeError("the scraping engine is closed")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    # -- public API -------------------------------------------------------------------------

    def scrape(self, request: ScrapeRequest) -> ScrapeResult:
        """Read one endpoint; never raises for a meter problem (see ``ScrapeResult.error``)."""
        return self._call(self._scrape(request))

    def _submit(self, requests: list[ScrapeRequest], inbox: Inbox) -> int:
        """Start reading a batch on the loop; its replies go to ``inbox`` (see ``batches.py``)."""
        if self._closed:
            raise RuntimeError("the scraping engine is closed")
        batch = next(self._batch_ids)

        async def one(index: int, request: ScrapeRequest) -> None:
            inbox.put(("result", batch, index, await self._scrape(request)))

        async def read() -> None:
            await asyncio.gather(*(one(i, r) for i, r in enumerate(requests)))

        def ended(future: Future[None]) -> None:
            if future.cancelled():
                inbox.put(("raised", batch, RuntimeError("the scraping engine was closed mid-batch")))
            elif (failure := future.exception()) is not None:
                inbox.put(("raised", batch, failure))
            else:
                inbox.put(("done", batch, None))

        asyncio.run_coroutine_threadsafe(read(), self._loop).add_done_callback(ended)
        return batch

    def suggest(self, request: ScrapeRequest) -> list[Suggestion]:
        """Elements that look like energy on the endpoint's page (after login and steps).

        Raises ``ScrapeFailure`` when the page cannot be reached.
        """
        return self._call(self._suggest(request))

    def close(self) -> None:
        """Close the browser and the connection pools, and stop the loop thread."""
        if self._closed:
            return
        try:
            self._call(self._aclose())
        finally:
            self._closed = True
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop.close()

    def __enter__(self) -> ScrapingEngine:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # -- inside the loop --------------------------------------------------------------------

    async def _aclose(self) -> None:
        if self._browser is not None:
            await self._browser.pool.aclose()
        await self.http.aclose()
        if self._snmp is not None:
            await self._snmp.aclose()
        if self._modbus is not None:
            await self._modbus.aclose()

    async def _attempt(self, request: ScrapeRequest, secrets: Secrets, suggest_only: bool = False
                       ) -> tuple[RunContext, dict[str, ReadValue] | None, ScrapeFailure | None]:
        config = request.config
        slots = self._browser_slots if config.engine == "browser" else self._http_slots
        device, limit = device_key(config), config.session_limit
        if self._plain_page_share is not None and shares_nothing(config):
            device, limit = f"plain:{device}", self._plain_page_share  # this engine's share of the origin
        self._waiting[device] = self._waiting.get(device, 0) + 1
        try:
            # The device slot first: scrapes queued for one busy device must not hold engine slots.
            await self._device_slot(device, limit).acquire()
        finally:
            self._waiting[device] -= 1
        try:
            async with slots:
                return await self._run_attempt(request, secrets, suggest_only, device)
        finally:
            self._device_slot(device, limit).release()

    async def _run_attempt(self, request: ScrapeRequest, secrets: Secrets, suggest_only: bool, device: str
                           ) -> tuple[RunContext, dict[str, ReadValue] | None, ScrapeFailure | None]:
        config = request.config
        shared = config.session_limit == 1  # one session at a time: its endpoints share one login
        ctx = RunContext(request.key, config, secrets, request.capture_evidence,
                         deadline=time.monotonic() + config.timeout_s,
                         session_key=device if shared else request.key,
                         others_waiting=lambda: shared and self._waiting.get(device, 0) > 0)
        try:
            async with asyncio.timeout(config.timeout_s + GRACE_S):
                if config.engine == "browser":
                    values = await self.browser.run(ctx, suggest_only=suggest_only)
                elif config.engine == "snmp":
                    values = await self.snmp.run(ctx)
                elif config.engine == "modbus":
                    values = await self.modbus.run(ctx)
                else:
                    values = await self.http.run(ctx)
            return ctx, values, None
        except ScrapeFailure as failure:
            return ctx, None, failure
        except TimeoutError:
            return ctx, None, ScrapeFailure(
                "timeout", f"the scrape took longer than timeout_s={config.timeout_s:g}s",
                hint="the device is slow or busy; raise timeout_s if it is always this slow")
        except Exception as exc:
            log.exception("unexpected error scraping %s", request.key)
            return ctx, None, ScrapeFailure("step_failed", f"unexpected error: {type(exc).__name__}: "
                                            f"{secrets.redact(str(exc))[:300]}")

    def _device_slot(self, device: str, limit: int | None) -> asyncio.Semaphore:
        """The device's semaphore: ``limit`` (its ``session_limit``, or a share) scrapes at once, else
        ``per_host_concurrency``."""
        slot = self._host_slots.get(device)
        if slot is None:
            slot = self._host_slots[device] = asyncio.Semaphore(limit or self._per_host)
        return slot

    async def _scrape(self, request: ScrapeRequest) -> ScrapeResult:
        config = request.config
        started_at = datetime.now(UTC)
        started = time.monotonic()
        secrets = Secrets(self.secrets)
        timings: list[StepTiming] = []
        attempts = 0
        while True:
            attempts += 1
            ctx, values, failure = await self._attempt(request, secrets)
            if attempts == 1:
                timings += ctx.timings
            else:
                timings += [StepTiming(name=f"attempt {attempts}: {t.name}", seconds=t.seconds) for t in ctx.timings]
            if failure is None or not failure.transient or attempts > config.retries:
                break
            delay = config.backoff_s * 2 ** (attempts - 1)
            log.info("%s: %s; retrying in %.1fs", request.key, secrets.redact(failure.message), delay)
            await asyncio.sleep(delay)
        evidence = Evidence()
        if failure is not None or request.capture_evidence:
            try:
                evidence = await asyncio.to_thread(
                    write_evidence, self.evidence_dir, request.key, started_at, ctx.snapshot, secrets)
            except OSError as exc:
                log.warning("could not write evidence for %s: %s", request.key, exc)
        error = None
        if failure is not None:
            error = failure.to_error().model_copy(update={
                "message": secrets.redact(failure.message),
                "hint": secrets.redact(failure.hint) if failure.hint else None,
            })
            log.info("%s failed (%s): %s", request.key, error.error_class, error.message)
        elif log.isEnabledFor(logging.DEBUG):
            log.debug("%s read %s", request.key, {k: v.value for k, v in (values or {}).items()})
        return ScrapeResult(
            key=request.key, ok=failure is None, values=values or {}, error=error, timings=timings,
            evidence=evidence, started_at=started_at, duration_s=round(time.monotonic() - started, 4),
            engine=config.engine, attempts=attempts,
        )

    async def _suggest(self, request: ScrapeRequest) -> list[Suggestion]:
        secrets = Secrets(self.secrets)
        config = request.config
        if config.engine in ("snmp", "modbus"):
            raise ConfigFailure(f"Suggest looks for energy on web pages; engine {config.engine} reads the "
                                "OIDs or registers its config names", hint="start from a vendor preset")
        if config.engine == "http":
            # Read nothing: run the http flow with no values wanted and look at the last page.
            probe = config.model_copy(update={"values": {}})
            request = request.model_copy(update={"config": probe})
        ctx, _, failure = await self._attempt(request, secrets, suggest_only=True)
        if failure is not None and not (config.engine == "http" and failure.error_class in
                                        ("selector_not_found", "pattern_no_match", "not_a_number", "implausible")):
            failure.message = secrets.redact(failure.message)
            raise failure
        document = Document(ctx.snapshot.url, ctx.snapshot.source)
        return suggestions_for(document, limit=10)
