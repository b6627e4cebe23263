"""Clients and their dated tariffs (rate, currency, overhead factor, contract terms), and money rounding.

A client's price is a list of tariffs, each valid from a date (site midnight) until the next one;
a change inside a month splits the month exactly as a client move does. The flat
``rate_per_kwh`` / ``currency`` / ``overhead_factor`` keys of older files are the tariff valid from
the beginning, so those files keep billing as before. Money is ``Decimal``, rounded per line.
A client bills in one currency: a dated tariff may not switch it (a statement has one total).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HOURS = re.compile(r"^(?P<h0>\d{1,2})(:(?P<m0>\d{2}))?-(?P<h1>\d{1,2})(:(?P<m1>\d{2}))?$")
# ISO 4217 minor units that are not 2 (amounts are still stored at scale 2, e.g. JPY 1234.00).
MINOR_UNITS = {"JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0, "VND": 0, "XOF": 0, "XAF": 0, "HUF": 2, "TWD": 2}
SINCE_ALWAYS_UTC = datetime(1970, 1, 1, tzinfo=UTC)


def money(value: Decimal, currency: str) -> Decimal:
    """``value`` rounded half-up to the currency's minor unit, written with two decimals."""
    places = min(MINOR_UNITS.get(currency.upper(), 2), 2)
    rounded = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return rounded.quantize(Decimal("0.01"))


def decimal_of(value: float | Decimal | None, places: int) -> Decimal | None:
    """A float figure as a Decimal with ``places`` decimals (kWh to the Wh: 3; prices: 6)."""
    if value is None:
        return None
    return Decimal(str(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TouWindow(_Strict):
    """A time-of-use window: energy drawn on these weekdays between these hours (site time) at its own rate."""

    name: str = Field(min_length=1, description="shown on the statement line as tou:<name>")
    days: list[str] = Field(default_factory=lambda: list(WEEKDAYS[:5]),
                            description="weekdays: mon tue wed thu fri sat sun (default mon-fri)")
    hours: str = Field(description="HH:MM-HH:MM in the site time zone, e.g. 08:00-20:00; 22:00-06:00 crosses midnight")
    rate_per_kwh: float = Field(ge=0, description="price per kWh in the window (instead of the tariff's rate)")

    @field_validator("days")
    @classmethod
    def _days(cls, value: list[str]) -> list[str]:
        days = [day.strip().lower()[:3] for day in value]
        unknown = [day for day in days if day not in WEEKDAYS]
        if unknown or not days:
            raise ValueError(f"days must be among {', '.join(WEEKDAYS)}; got {value}")
        return days

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        match = HOURS.match(value.replace(" ", ""))
        if not match:
            raise ValueError(f"{value!r}: write HH:MM-HH:MM, e.g. 08:00-20:00")
        start, end = _minutes(match, 0), _minutes(match, 1)
        if start == end or max(start, end) > 24 * 60:
            raise ValueError(f"{value!r}: the window must be non-empty and within 00:00-24:00")
        return value

    def minutes(self) -> tuple[int, int]:
        """(start, end) minutes after local midnight; end < start crosses midnight."""
        match = HOURS.match(self.hours.replace(" ", ""))
        assert match is not None
        return _minutes(match, 0), _minutes(match, 1)


def _minutes(match: re.Match[str], side: int) -> int:
    return int(match[f"h{side}"]) * 60 + int(match[f"m{side}"] or 0)


class Tariff(_Strict):
    """A client's price and contract terms from ``valid_from`` (site midnight) until the next tariff."""

    valid_from: date | None = Field(None, description="first day (site time); absent: from the beginning")
    rate_per_kwh: float | None = Field(None, ge=0, description="price per metered kWh (times overhead_factor)")
    currency: str | None = Field(None, pattern=r"^[A-Z]{3}$", description="ISO 4217 code; absent: the client's")
    overhead_factor: float | None = Field(
        None, gt=0, description="PUE-style multiplier (amount = kWh x factor x rate); absent: the client's")
    committed_kw: float | None = Field(None, gt=0, description="committed power; overage is charged above it")
    overage_per_kwh: float | None = Field(
        None, ge=0, description="surcharge per kWh above committed_kw x hours of the period")
    overage_per_peak_kw: float | None = Field(
        None, ge=0, description="charge per kW of the month's peak demand above committed_kw")
    fixed_fee_per_circuit: float | None = Field(None, ge=0, description="fixed monthly fee per endpoint (circuit)")
    tou: list[TouWindow] = Field(default_factory=list, description="time-of-use windows with their own rates")

    @model_validator(mode="after")
    def _overage_needs_commitment(self) -> Tariff:
        if (self.overage_per_kwh is not None or self.overage_per_peak_kw is not None) and self.committed_kw is None:
            raise ValueError("overage_per_kwh / overage_per_peak_kw need committed_kw")
        names = [window.name for window in self.tou]
        if len(set(names)) != len(names):
            raise ValueError("time-of-use window names must be distinct")
        _no_overlap(self.tou)
        return self


def _no_overlap(windows: list[TouWindow]) -> None:
    """Two windows covering the same minute would bill its energy twice."""
    taken: dict[tuple[int, int], str] = {}
    for window in windows:
        start, end = window.minutes()
        for day in window.days:
            index = WEEKDAYS.index(day)
            spans = [(index, start, end)] if end > start else [(index, start, 1440), ((index + 1) % 7, 0, end)]
            for weekday, first, last in spans:
                for hour_minute in range(first, last):
                    other = taken.setdefault((weekday, hour_minute), window.name)
                    if other != window.name:
                        raise ValueError(f"time-of-use windows {other!r} and {window.name!r} overlap on "
                                         f"{WEEKDAYS[weekday]} at {hour_minute // 60:02d}:{hour_minute % 60:02d}")


class ClientTerms(_Strict):
    """A declared client: its name (the id endpoints refer to) and its dated tariffs.

    The flat ``rate_per_kwh``, ``currency`` and ``overhead_factor`` are the tariff valid from the
    beginning; ``tariffs`` entries (each with ``valid_from``) take over from their dates.
    """

    name: str = Field(min_length=1, description="the id endpoints' client: refers to")
    display_name: str = Field("", description="the name printed on statements (default: name)")
    rate_per_kwh: float | None = Field(None, ge=0, description="price per kWh from the beginning")
    currency: str = Field("EUR", pattern=r"^[A-Z]{3}$", description="ISO 4217 code")
    overhead_factor: float = Field(1.0, gt=0, description="PUE-style multiplier applied before the rate")
    tariffs: list[Tariff] = Field(default_factory=list, description="dated tariffs, in increasing valid_from")

    @model_validator(mode="after")
    def _dated_in_order(self) -> ClientTerms:
        dates = [tariff.valid_from for tariff in self.tariffs]
        if any(day is None for day in dates):
            raise ValueError("each entry of tariffs needs valid_from (the flat keys are the tariff from the beginning)")
        known = [day for day in dates if day is not None]
        if known != sorted(known) or len(set(known)) != len(known):
            raise ValueError("tariffs must list distinct valid_from dates in increasing order")
        self._one_currency()
        return self

    def _one_currency(self) -> None:
        """A statement totals one currency: a dated tariff may not switch it (the error names the tariff's field)."""
        changed = [InitErrorDetails(
            type=PydanticCustomError(
                "currency_change", "currency {currency} differs from the client's {client_currency}: a statement "
                "adds its lines in one currency; set currency: {currency} on the client (all its tariffs), or "
                "declare another client for the contract in {currency}",
                {"currency": tariff.currency, "client_currency": self.currency}),
            loc=("tariffs", index, "currency"), input=tariff.currency)
            for index, tariff in enumerate(self.tariffs) if tariff.currency not in (None, self.currency)]
        if changed:
            raise ValidationError.from_exception_data(type(self).__name__, changed)

    @property
    def label(self) -> str:
        """The name printed on statements."""
        return self.display_name or self.name

    def dated(self, tz: ZoneInfo) -> list[tuple[datetime, Tariff]]:
        """(valid from, UTC; tariff) in order, the flat keys first from the beginning."""
        base = Tariff.model_validate({"rate_per_kwh": self.rate_per_kwh, "currency": self.currency,
                                      "overhead_factor": self.overhead_factor})
        found = [(SINCE_ALWAYS_UTC, base)]
        for tariff in self.tariffs:
            assert tariff.valid_from is not None
            resolved = tariff.model_copy(update={"currency": tariff.currency or self.currency,
                                                 "overhead_factor": tariff.overhead_factor or self.overhead_factor})
            found.append((datetime.combine(tariff.valid_from, time(0), tzinfo=tz).astimezone(UTC), resolved))
        return found

    def tariff_at(self, when: datetime, tz: ZoneInfo) -> tuple[datetime, Tariff]:
        """The tariff in force at ``when`` and since when."""
        current = self.dated(tz)[0]
        for item in self.dated(tz):
            if item[0] <= when:
                current = item
        return current
