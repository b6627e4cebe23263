"""The one formatting module: separators, units, currency, the site's zone, and never 'None'."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from nxforge import sdk
from nxforge.app import formatting
from nxforge.formatting import WORD_JOINER


def test_numbers_have_separators_units_and_no_none() -> None:
    assert formatting.kwh(705440.84) == "705\u202f440.8 kWh"
    assert formatting.kw(3.256) == "3.26 kW"
    assert formatting.percent(87.4) == "87 %"
    assert formatting.money(Decimal("1234.5"), "eur") == "1\u202f234.50 €"
    assert formatting.money(10, "NOK") == "10.00 NOK"
    for shown in (formatting.kwh(None), formatting.kw(None), formatting.money(None, "EUR"), formatting.number(None)):
        assert shown == formatting.MISSING and "None" not in shown


def test_labels_and_site_time() -> None:
    assert formatting.label("month_kwh") == "Month kWh"
    assert formatting.label("load_pct") == "Load %"
    assert formatting.label("power", "kW") == "Power (kW)"
    at = datetime(2026, 7, 1, 10, 0, tzinfo=UTC)
    assert formatting.local_time(at, ZoneInfo("Europe/Paris")) == "2026-07-01 12:00"
    assert formatting.local_time(None, ZoneInfo("Europe/Paris")) == ""


def test_module_pages_get_the_same_functions_through_the_sdk() -> None:
    assert sdk.kwh is formatting.kwh and sdk.money is formatting.money
    assert sdk.status_hex("failing") == sdk.status_hex("alarm") != sdk.status_hex("ok")


HOSTILE = [
    "[Session expired - sign in again](http://evil.example/login)",
    "![pixel](http://evil.example/p.png)",
    "<img src=x onerror=alert(1)> <b>bold</b> &amp;",
    "# heading\n- list item\n1. numbered",
    ":red[alarm] :material/home: $x^2$ **strong** _em_ `code` ~~gone~~ | a | b |",
    "C:\\temp\\rack_1*2",
]


def test_plain_shows_config_strings_as_typed_in_commonmark() -> None:
    from html import escape

    from markdown_it import MarkdownIt

    renderer = MarkdownIt("commonmark").enable("table").enable("strikethrough")
    for text in HOSTILE:
        rendered = renderer.render(formatting.plain(text)).strip().replace(WORD_JOINER, "")
        assert rendered == f"<p>{escape(' '.join(text.splitlines()), quote=False)}</p>", text


def test_chart_text_leaves_no_tag_for_plotly() -> None:
    shown = formatting.chart_text('<a href="http://evil.example">rack</a>')
    assert "<" not in shown and ">" not in shown and "&lt;a href" in shown
    assert formatting.chart_text(None) == formatting.plain(None) == ""


def test_plain_leaves_nothing_for_gfm_autolink_literals() -> None:
    """Streamlit's Markdown links bare URLs and addresses found in text after escapes are resolved (its regexes)."""
    import re

    url = re.compile(r"(https?://|www(?=\.))([-.\w]+)([^ \t\r\n]*)", re.IGNORECASE)
    email = re.compile(r"(?:^|(?<=[\s\W]))([-.\w+]+)@([-\w]+(?:\.[-\w]+)+)", re.ASCII)
    for text in ["http://127.0.0.1:9/login", "HTTPS://evil.example", "www.evil.example", "me@evil.example",
                 "[x](http://evil.example/a) <a href=https://evil.example>y</a>"]:
        resolved = re.sub(r"\\(.)", r"\1", formatting.plain(text))  # what the Markdown tree's text nodes hold
        assert not url.search(resolved) and not email.search(resolved), text
        assert resolved.replace(WORD_JOINER, "") == text
