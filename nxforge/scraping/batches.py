"""Reading batch after batch, with the next batch handed to the engine before it runs dry.

Why: the collector claims due endpoints a batch at a time. Reading one batch to its end before
claiming the next leaves the engine waiting twice per batch: while the last meters of the batch
finish (one meter that times out holds the whole collector for its timeout) and while the next
batch is claimed and handed over. ``scrape_batches`` takes the next batch (the caller's claim,
in the caller's thread) as soon as fewer than a batch's worth of endpoints are still out, so the
engine always has work queued, and a slow meter only holds its own slot. At most two batches'
worth of endpoints are out at once, so claims stay close to the reading.

Both engines build on one call of their own, ``_submit``: hand a batch over and have its replies
put in a queue (the inbox) that the caller's thread empties. Every reply names its batch:

- ``("result", batch, index, ScrapeResult)`` per endpoint as it lands;
- ``("done", batch, None)`` once every endpoint of the batch has been answered;
- ``("raised", batch, exception)``: the engine failed the batch (a bug, never a meter problem);
- ``("died", batch, status)``: the process reading it stopped (``EngineProcess``); the endpoints
  it had not answered become failed readings saying so.
"""

from __future__ import annotations

import logging
import queue
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from .request import ScrapeRequest
from .result import ScrapeError, ScrapeResult

OnResult = Callable[[ScrapeResult], None]


class Inbox(Protocol):
    """Where an engine puts a batch's replies, from whichever thread reads them."""

    def put(self, reply: tuple[Any, ...], /) -> None: ...

log = logging.getLogger(__name__)


class _Flight:
    """A batch handed to the engine: its requests and what has come back."""

    def __init__(self, requests: list[ScrapeRequest]) -> None:
        self.requests = requests
        self.results: list[ScrapeResult | None] = [None] * len(requests)
        self.landed = 0


class BatchReading:
    """``scrape_many`` and ``scrape_batches`` for an engine that can ``_submit`` a batch."""

    def _submit(self, requests: list[ScrapeRequest], inbox: Inbox) -> int:
        """Hand ``requests`` over and return at once; their replies will arrive in ``inbox`` under the returned id."""
        raise NotImplementedError

    def _forget(self, batch: int) -> None:
        """The batch's last reply is in (an engine that tracks batches drops it here)."""

    def scrape(self, request: ScrapeRequest) -> ScrapeResult:
        """Read one endpoint, as a batch of one; never raises for a meter problem (see ``ScrapeResult.error``)."""
        return self.scrape_many([request])[0]

    def scrape_many(self, requests: Sequence[ScrapeRequest], on_result: OnResult | None = None) -> list[ScrapeResult]:
        """Read many endpoints concurrently; results in request order, each reported as it lands."""
        (flight,) = self._pump(iter([list(requests)]), on_result)
        return [result for result in flight.results if result is not None]

    def scrape_batches(self, batches: Iterable[Sequence[ScrapeRequest]], on_result: OnResult) -> None:
        """Read every batch ``batches`` yields; the next one is taken before the engine runs out of work.

        ``batches`` is advanced in the caller's thread while the engine reads, each time fewer
        than a batch's worth of endpoints are still out. If it raises (the database went away),
        the endpoints already handed over are still read and reported before the error goes on
        up: nothing read is dropped.
        """
        self._pump(iter(batches), on_result)

    def _pump(self, source: Iterator[Sequence[ScrapeRequest]], on_result: OnResult | None) -> list[_Flight]:
        """Hand batches over and report every reply in this thread; the batches, in the order handed over."""
        inbox: queue.SimpleQueue[tuple[Any, ...]] = queue.SimpleQueue()
        flying: dict[int, _Flight] = {}
        handed: list[_Flight] = []
        refill = 1  # take the next batch when fewer than this are out: the last batch's size
        error: BaseException | None = None
        try:
            while True:
                while error is None and sum(len(f.requests) - f.landed for f in flying.values()) < refill:
                    batch = next(source, None)
                    if batch is None:
                        break
                    flight = _Flight(list(batch))
                    handed.append(flight)
                    if flight.requests:
                        flying[self._submit(flight.requests, inbox)] = flight
                        refill = len(flight.requests)
                if not flying:
                    break
                error = self._land(inbox.get(), flying, on_result) or error
        except BaseException as exc:  # the source failed: what is out is still read and reported
            error = exc
            while flying:
                self._land(inbox.get(), flying, on_result)
        if error is not None:
            raise error
        return handed

    def _land(self, reply: tuple[Any, ...], flying: dict[int, _Flight], on_result: OnResult | None
              ) -> BaseException | None:
        """Take one reply: report a result, or end its batch (returning the failure of one that raised)."""
        kind, batch_id, *payload = reply
        flight = flying.get(batch_id)
        if flight is None:
            return None  # a late reply of a batch already ended
        if kind == "result":
            index, result = payload
            if flight.results[index] is None:
                flight.results[index] = result
                flight.landed += 1
                _report(on_result, result)
            return None
        if kind == "died":
            for index, request in enumerate(flight.requests):
                if flight.results[index] is None:
                    flight.results[index] = failed = unanswered(request, payload[0])
                    flight.landed += 1
                    _report(on_result, failed)
        del flying[batch_id]
        self._forget(batch_id)
        failure: BaseException | None = payload[0] if kind == "raised" else None
        return failure


def unanswered(request: ScrapeRequest, status: int | None) -> ScrapeResult:
    """The failed reading of an endpoint the engine's process did not answer before it stopped."""
    return ScrapeResult(
        key=request.key, ok=False, values={}, started_at=datetime.now(UTC), duration_s=0.0,
        engine=request.config.engine,
        error=ScrapeError(error_class="step_failed",
                          message=f"the scraping process stopped (exit status {status}) before this endpoint "
                                  "was read", hint="see the collector's log; the next run reads it again"),
    )


def _report(on_result: OnResult | None, result: ScrapeResult | None) -> None:
    if on_result is None or result is None:
        return
    try:
        on_result(result)
    except Exception:
        log.exception("on_result callback failed for %s", result.key)
