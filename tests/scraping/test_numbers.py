"""Number parsing: the formats meters print, sentinels that must never become zero."""

from __future__ import annotations

import pytest

from nxforge.scraping.config import ValueSpec
from nxforge.scraping.errors import NoValueError, NumberFormatError, ScrapeFailure
from nxforge.scraping.numbers import convert, parse_number, parse_reading
from nxforge.scraping.values import interpret_json, interpret_text


@pytest.mark.parametrize(
    ("text", "decimal", "expected"),
    [
        ("12,543.5 kWh", None, 12543.5),
        ("12.543,5 kWh", None, 12543.5),
        ("12 543,5", None, 12543.5),
        ("12\u00a0543,5", None, 12543.5),
        ("12\u202f543,5", None, 12543.5),
        ("17098.2", None, 17098.2),
        ("12543500 Wh", None, 12543500.0),
        ("1,234,567.8", None, 1234567.8),
        ("1.234.567", None, 1234567.0),
        ("12,5", None, 12.5),
        ("12,543", None, 12543.0),  # documented rule: one comma + 3 digits = thousands
        ("12,543", ",", 12.543),
        ("12.543", None, 12.543),  # a single dot is a decimal point
        ("12.543", ",", 12543.0),
        ("1,234", ".", 1234.0),
        ("Energy: 12,543.5 kWh", None, 12543.5),
        ("+5", None, 5.0),
        ("0", None, 0.0),
        ("1'234.5", None, 1234.5),
    ],
)
def test_parse_number(text: str, decimal: str | None, expected: float) -> None:
    assert parse_reading(text, decimal).value == pytest.approx(expected)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["-1", "N/A", "n/a", "---", "--", "", "   ", "-1 kWh", "--- kWh", "null"])
def test_sentinels_are_no_value_never_zero(text: str) -> None:
    spec = ValueSpec(selector="#kwh", unit="kWh")
    with pytest.raises(NoValueError) as caught:
        interpret_text("total_kwh", spec, text)
    assert caught.value.error_class == "not_a_number"
    assert "reports no value" in caught.value.message


@pytest.mark.parametrize("text", ["1#2?4,x", "12,34,5", "abc", "12.3.4,5,6"])
def test_garbage_is_not_a_number(text: str) -> None:
    with pytest.raises(ScrapeFailure) as caught:
        interpret_text("total_kwh", ValueSpec(selector="#kwh", unit="kWh"), text)
    assert caught.value.error_class == "not_a_number"


@pytest.mark.parametrize(
    ("text", "unit", "scale", "expected"),
    [
        ("12543500 Wh", "kWh", 1.0, 12543.5),
        ("12.5 MWh", "kWh", 1.0, 12500.0),
        ("12.5435 MWh", "kWh", 1.0, 12543.5),
        ("125435", "kWh", 0.1, 12543.5),  # tenths
        ("2.30 kW", "W", 1.0, 2300.0),
        ("230.1 V", "V", 1.0, 230.1),
        ("12543.5", None, 1.0, 12543.5),
    ],
)
def test_units_and_scale(text: str, unit: str | None, scale: float, expected: float) -> None:
    read = interpret_text("v", ValueSpec(selector="#v", unit=unit, scale=scale), text)
    assert read.value == pytest.approx(expected)
    assert read.raw_text == text


def test_wrong_dimension_is_implausible() -> None:
    with pytest.raises(ScrapeFailure) as caught:
        interpret_text("total_kwh", ValueSpec(selector="#p", unit="kWh"), "2.30 kW")
    assert caught.value.error_class == "implausible"


def test_negative_energy_and_bounds_are_implausible() -> None:
    with pytest.raises(ScrapeFailure) as caught:
        interpret_text("total_kwh", ValueSpec(selector="#e", unit="kWh"), "-5 kWh")
    assert caught.value.error_class == "implausible"
    with pytest.raises(ScrapeFailure) as caught:
        interpret_text("total_kwh", ValueSpec(selector="#e", unit="kWh", max=1000), "5,000 kWh")
    assert caught.value.error_class == "implausible"


def test_regex_groups_and_mismatch() -> None:
    spec = ValueSpec(selector="#e", regex=r"([\d,]+\.\d)\s*(kWh|MWh)", unit="kWh")
    assert interpret_text("e", spec, "Total 1,234.5 MWh").value == pytest.approx(1_234_500.0)
    named = ValueSpec(selector="#e", regex=r"(?P<unit>Wh)=(?P<number>\d+)", unit="kWh")
    assert interpret_text("e", named, "Wh=1500").value == pytest.approx(1.5)
    with pytest.raises(ScrapeFailure) as caught:
        interpret_text("e", spec, "12 kW")
    assert caught.value.error_class == "pattern_no_match"
    assert "does not match the regex" in caught.value.message


def test_json_values() -> None:
    spec = ValueSpec(selector="$.e", unit="kWh")
    assert interpret_json("e", spec, 12543.5).value == 12543.5
    assert interpret_json("e", spec, "12543.5").value == 12543.5
    for sentinel in (None, -1, "N/A"):
        with pytest.raises(NoValueError):
            interpret_json("e", spec, sentinel)
    with pytest.raises(ScrapeFailure):
        interpret_json("e", spec, {"value": 1})


def test_convert_and_parse_number_errors() -> None:
    assert convert(1.0, "MWh", "Wh") == 1e6
    assert convert(3.0, None, "kWh") == 3.0
    with pytest.raises(NumberFormatError):
        parse_number("no digits")
