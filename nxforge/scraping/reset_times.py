"""When a device says its energy counter last restarted: one reading of that time for every engine.

Devices write it three ways: an ISO 8601 instant (Redfish ``SensorResetTime``), Unix seconds
(Eaton's ``inputTotalWhTimer``; its 0, never reset, reads as the epoch, the counter's origin,
so the first real reset is a later time and is caught) and a local wall-clock time without an
offset (APC's ``rPDU2DeviceStatusEnergyStartTime``, ``05/30/2011 00:12:17``, in the zone set on
the card). A time without an offset is read in ``counter.reset_time_zone`` when the endpoint
gives one, and fails the reading otherwise: guessing its zone could place a reset on the wrong
side of a reading.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from .errors import ScrapeFailure

US_LOCAL = "%m/%d/%Y %H:%M:%S"  # APC PowerNet's ...StartTime objects


def parse_reset_time(name: str, where: str, raw: str | int, zone: str | None) -> datetime | None:
    """The instant ``raw`` (read at ``where``) names, in UTC; None when the device does not say."""
    text = str(raw).strip()
    if isinstance(raw, int) or (text.isascii() and text.isdigit() and len(text) != 8):  # 8 digits: ISO 20240131
        return _unix(name, where, int(text))  # Unix seconds, as a number or digits in a string
    if not text:
        return None
    at = _parse(text)
    if at is None:
        raise ScrapeFailure("not_a_number", f"value `{name}`: the counter's reset time `{text[:60]}` from "
                            f"`{where}` is not a time (ISO 8601, Unix seconds or MM/DD/YYYY HH:MM:SS)",
                            hint="point counter.reset_time at a time such as 2026-11-01T00:00:00Z")
    if at.tzinfo is None:
        if zone is None:
            raise ScrapeFailure("not_a_number", f"value `{name}`: the counter's reset time `{text[:60]}` from "
                                f"`{where}` has no offset, so its zone would be a guess",
                                hint="set counter.reset_time_zone to the zone the device's clock is set to "
                                "(e.g. Europe/Paris), or point reset_time at a time with an offset")
        at = at.replace(tzinfo=ZoneInfo(zone))
    try:
        return at.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 in a zone that moves it out of range
        raise _not_a_time(name, where, text, "out of range") from None


def _unix(name: str, where: str, seconds: int) -> datetime:
    """Unix seconds; Eaton's 0 (never reset) is the epoch: any real reset is later."""
    if seconds < 0:
        raise _not_a_time(name, where, str(seconds), "negative Unix seconds")
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (ValueError, OverflowError, OSError) as exc:
        raise _not_a_time(name, where, str(seconds), f"Unix seconds out of range: {exc}") from None


def _not_a_time(name: str, where: str, text: str, why: str) -> ScrapeFailure:
    return ScrapeFailure("not_a_number", f"value `{name}`: the counter's reset time `{text[:60]}` from `{where}` "
                         f"is not a time ({why})", hint="point counter.reset_time at the device's reset time")


def _parse(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    try:
        return datetime.strptime(text, US_LOCAL)
    except ValueError:
        return None
