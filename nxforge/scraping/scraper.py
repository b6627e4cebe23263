"""What module code may call on ``ctx.scraping()``: the engine in this process, or in processes of its own."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

from .request import ScrapeRequest
from .result import ScrapeResult, Suggestion


class Scraper(Protocol):
    """``ScrapingEngine`` (the app, the CLI), ``EngineProcess`` and ``EnginePool`` (the collector) all answer these."""

    def scrape(self, request: ScrapeRequest) -> ScrapeResult:
        """Read one endpoint; never raises for a meter problem."""
        ...

    def scrape_many(self, requests: Sequence[ScrapeRequest],
                    on_result: Callable[[ScrapeResult], None] | None = None) -> list[ScrapeResult]:
        """Read many endpoints concurrently; results in request order, each reported as it lands."""
        ...

    def scrape_batches(self, batches: Iterable[Sequence[ScrapeRequest]],
                       on_result: Callable[[ScrapeResult], None]) -> None:
        """Read every batch ``batches`` yields; the next is taken (in this thread) before the engine runs dry."""
        ...

    def suggest(self, request: ScrapeRequest) -> list[Suggestion]:
        """Elements that look like energy on the endpoint's page; raises ``ScrapeFailure`` when unreachable."""
        ...

    def close(self) -> None:
        """Close the browser and connection pools."""
        ...
