"""Reading named values (a kWh counter, a power) from meter and PDU web pages.

Four engines share one config: ``browser`` (Playwright + Chromium) for pages that need
JavaScript, tabs or frames; ``http`` (httpx + selectolax/JSONPath) for plain pages and JSON
APIs; ``snmp`` and ``modbus`` for meters that are not web pages. The collector uses
``ScrapingEngine``; everything else here is the vocabulary it speaks.

``ScrapingEngine`` is imported when first asked for (httpx, lxml, selectolax, the engines): the
collector's own process never reads a meter, its scraping processes do (``prestart.py``).
"""

from typing import TYPE_CHECKING, Any

from .config import ScrapeConfig, ValueSpec
from .errors import ScrapeFailure
from .numbers import parse_number, parse_reading
from .presets import deep_merge, list_presets, load_preset
from .request import ScrapeRequest
from .result import ERROR_CLASSES, Evidence, ReadValue, ScrapeError, ScrapeResult, StepTiming, Suggestion

if TYPE_CHECKING:
    from .engine import ScrapingEngine


def __getattr__(name: str) -> Any:
    """``ScrapingEngine``, imported on first use."""
    if name == "ScrapingEngine":
        from .engine import ScrapingEngine

        return ScrapingEngine
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ERROR_CLASSES",
    "Evidence",
    "ReadValue",
    "ScrapeConfig",
    "ScrapeError",
    "ScrapeFailure",
    "ScrapeRequest",
    "ScrapeResult",
    "ScrapingEngine",
    "StepTiming",
    "Suggestion",
    "ValueSpec",
    "deep_merge",
    "list_presets",
    "load_preset",
    "parse_number",
    "parse_reading",
]
