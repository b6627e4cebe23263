"""``nxforge scrape test ENDPOINT`` and ``nxforge scrape suggest URL``: ops at a terminal.

``test`` reads one endpoint now, as the collector would, keeping evidence. The core names no
module, so it asks every enabled module's ``scrape-config`` hook (see HOOKS in
``nxforge/module_system/contract.py``) which request reads that endpoint. ``suggest`` needs
neither a module nor the database: it loads the page with the engine asked for and lists what
looks like energy, each with the value config that reads it.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from nxforge.scraping import ScrapeRequest, ScrapeResult, Suggestion

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_UNKNOWN = 2
HOOK: Literal["scrape-config"] = "scrape-config"


def add_scrape_parser(sub: Any) -> None:
    """``nxforge scrape test|suggest``."""
    scrape = sub.add_parser("scrape", help="read an endpoint now, or suggest selectors for a page")
    actions = scrape.add_subparsers(dest="action", required=True)
    test = actions.add_parser("test", help="read ENDPOINT now as the collector would (evidence kept)")
    test.add_argument("endpoint", help="the endpoint id (as in the module's YAML)")
    test.add_argument("--json", action="store_true", help="print the whole result as JSON")
    test.set_defaults(func=cmd_scrape_test)
    suggest = actions.add_parser("suggest", help="elements of URL that look like an energy reading")
    suggest.add_argument("url", help="the page (or JSON/XML answer) that shows the counter")
    suggest.add_argument("--engine", choices=["browser", "http"], default="browser",
                         help="browser (default: sees values filled in by scripts) or http (plain pages, JSON, XML)")
    suggest.add_argument("--insecure", action="store_true", help="accept a self-signed certificate (verify_tls: false)")
    suggest.add_argument("--limit", type=int, default=10, help="at most this many suggestions (default 10)")
    suggest.set_defaults(func=cmd_scrape_suggest)


def cmd_scrape_test(args: argparse.Namespace) -> int:
    """Find the endpoint through the modules' hooks, read it, print values or the error with its hint."""
    from nxforge.module_system.loading import resolve_handler
    from nxforge.platform import Platform

    platform = Platform()
    try:
        request: ScrapeRequest | None = None
        asked = []
        for info in platform.enabled_modules():
            hook = info.manifest.hooks.get(HOOK) if info.manifest else None
            if hook:
                asked.append(info.name)
                request = resolve_handler(platform.env.modules_dir, hook)(platform.context(info.name), args.endpoint)
                if request is not None:
                    break
        if request is None:
            where = ", ".join(asked) or "no enabled module reads endpoints"
            print(f"error: no endpoint `{args.endpoint}` ({where})", file=sys.stderr)
            return EXIT_UNKNOWN
        result = platform.scraping().scrape(request)
    finally:
        platform.close()
    if args.json:
        print(result.model_dump_json(indent=2))
    else:
        print(describe_result(result))
    return EXIT_OK if result.ok else EXIT_FAILED


def describe_result(result: ScrapeResult) -> str:
    """A scrape result as ops read it: values with the text they came from, or the error and what to do."""
    lines = []
    if result.ok:
        lines.append(f"{result.key}: read with the {result.engine} engine in {result.duration_s:.2f}s")
        for name, value in result.values.items():  # .15g: all the digits the meter shows (:g kept 6)
            lines.append(f"  {name} = {value.value:.15g} {value.unit}    (the page shows: {value.raw_text})")
    else:
        assert result.error is not None
        lines.append(f"{result.key}: {result.error.error_class}: {result.error.message}")
        if result.error.hint:
            lines.append(f"What to do: {result.error.hint}")
    if result.timings:
        lines.append("timings: " + ", ".join(f"{t.name} {t.seconds:.2f}s" for t in result.timings))
    for label, path in (("screenshot", result.evidence.screenshot), ("page source", result.evidence.page_source)):
        if path is not None:
            lines.append(f"{label}: {path}")
    return "\n".join(lines)


def cmd_scrape_suggest(args: argparse.Namespace) -> int:
    """Load URL with the chosen engine and print what looks like energy, best first."""
    from nxforge.environment import Environment
    from nxforge.scraping import ScrapeConfig, ScrapeFailure, ScrapeRequest, ScrapingEngine

    config = ScrapeConfig.model_validate({"url": args.url, "engine": args.engine, "verify_tls": not args.insecure,
                                          "retries": 0, "values": {"total_kwh": {"selector": "#_"}}})
    with tempfile.TemporaryDirectory(prefix="nxforge-suggest-") as scratch, ScrapingEngine(
            secrets=Environment.from_environ().secrets, evidence_dir=Path(scratch) / "evidence",
            state_dir=Path(scratch) / "sessions") as engine:
        try:
            suggestions = engine.suggest(ScrapeRequest(key="suggest", config=config))
        except ScrapeFailure as failure:
            print(f"error: {failure.error_class}: {failure.message}", file=sys.stderr)
            if failure.hint:
                print(f"What to do: {failure.hint}", file=sys.stderr)
            return EXIT_FAILED
    if not suggestions:
        print(f"nothing on {args.url} looks like an energy reading (wrong page, login needed, or try "
              f"--engine {'http' if args.engine == 'browser' else 'browser'})")
        return EXIT_FAILED
    for rank, suggestion in enumerate(suggestions[: args.limit], start=1):
        print(describe_suggestion(rank, suggestion))
    return EXIT_OK


def describe_suggestion(rank: int, suggestion: Suggestion) -> str:
    """One suggestion and the value config (YAML) that reads it."""
    value: dict[str, Any] = {"selector": suggestion.selector, "regex": suggestion.regex, "unit": suggestion.unit}
    if suggestion.unit_from:
        value["unit_from"] = suggestion.unit_from
    label = f", next to `{suggestion.label}`" if suggestion.label else ""
    return (f"{rank}. {suggestion.selector}: `{suggestion.text}` = {suggestion.value:g} {suggestion.unit}"
            f"{label} (score {suggestion.score:g})\n     total_kwh: {json.dumps(value)}")
