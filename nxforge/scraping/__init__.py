"""Reading named values (a kWh counter, a power) from meter and PDU web pages.

Four engines share one config: ``browser`` (Playwright + Chromium) for pages that need
JavaScript, tabs or frames; ``http`` (httpx + selectolax/JSONPath) for plain pages and JSON
APIs; ``snmp`` and ``modbus`` for meters that are not web pages. The collector uses
``ScrapingEngine``; everything else here is the vocabulary it speaks.
"""

from .config import ScrapeConfig, ValueSpec
from .engine import ScrapingEngine
from .errors import ScrapeFailure
from .numbers import parse_number, parse_reading
from .presets import deep_merge, list_presets, load_preset
from .request import ScrapeRequest
from .result import ERROR_CLASSES, Evidence, ReadValue, ScrapeError, ScrapeResult, StepTiming, Suggestion

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
