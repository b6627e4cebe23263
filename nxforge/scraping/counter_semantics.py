"""What a meter's energy register means, so rollover and reset are decided, not guessed.

A vendor's MIB or register map says how its counter behaves: the unit of one count, the
register's width and sign, what happens at the top (it wraps to 0, or it stops at a ceiling),
whether a person or a reboot can reset it, and which raw values mean "no reading" (APC answers
-1 on models without metering). A preset declares this once per value (``counter:``); the
engine refuses the "unavailable" values and hands the rest on in ``ReadValue.counter``
converted to the value's own unit, so the counter correction can tell a wrap (add exactly one
register's worth) from a reset (carry the last value forward).

Some devices also say *when* their counter last restarted (Redfish ``SensorResetTime``, Eaton's
``inputTotalWhTimer``, APC's ``rPDU2DeviceStatusEnergyStartTime``): a preset points ``reset_time``
at it, and the engine hands that instant on as ``reset_at``. Then a reset is known, not inferred
from a drop: a later instant than the last reading's is a reset at that moment (even when the
counter has since climbed past its old value), and the same instant with a lower value is no
reset at all (the reading is held for review).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .units import UNITS, canonical_unit

Overflow = Literal["wrap", "ceiling"]


class CounterInfo(BaseModel):
    """The counter's behaviour in the unit of the value read (kWh for ``total_kwh``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    wraps_at: float | None = Field(None, description="the value after which the counter restarts from 0")
    ceiling: float | None = Field(None, description="the value at which the counter stops until reset")
    resettable: bool = True
    width: int | None = None
    signed: bool = False
    reset_at: datetime | None = None
    """When the device says the counter last restarted from 0 (``CounterSemantics.reset_time``)."""


class CounterSemantics(BaseModel):
    """How one register counts, as the vendor documents it (raw counts, before ``scale``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    unit: str | None = Field(None, description="what one raw count is worth before scale: Wh, kWh ...")
    width: Literal[16, 32, 64] | None = Field(None, description="bits of the register; absent: not fixed-width")
    signed: bool = False
    overflow: Overflow = Field("wrap", description="wrap: back to 0 after max; ceiling: holds at max")
    max: int | None = Field(None, description="largest raw value; default: the width's maximum")
    resettable: bool = Field(True, description="a person, a command or a reboot can set it back to 0")
    unavailable: list[float] = Field(default_factory=list, description="raw values meaning no reading (-1)")
    reset_time: str | None = Field(
        None, description='where the device says when the counter last restarted from 0: in the same document '
        '(http engine, JSON in the browser), e.g. Redfish "$.EnergykWh.SensorResetTime"; or an OID read with the '
        'value (snmp engine), e.g. Eaton inputTotalWhTimer. ISO 8601, Unix seconds (0: never) or MM/DD/YYYY '
        'HH:MM:SS')
    reset_time_zone: str | None = Field(
        None, description="the zone of the device's clock, for reset times written without an offset (APC's "
        "MM/DD/YYYY HH:MM:SS): an IANA name such as Europe/Paris")

    @model_validator(mode="after")
    def _check(self) -> CounterSemantics:
        if self.unit is not None and self.unit.lower() not in UNITS:
            raise ValueError(f"unknown unit {self.unit!r}; use one of Wh, kWh, MWh")
        if self.max is not None and self.max <= 0:
            raise ValueError("max must be positive")
        if self.reset_time is not None and not self.resettable:
            raise ValueError("reset_time says when a counter was reset: it needs resettable: true")
        if self.reset_time is not None and not self.reset_time.strip():
            raise ValueError("reset_time: empty selector")
        if self.reset_time_zone is not None:
            if self.reset_time is None:
                raise ValueError("reset_time_zone is the zone of reset_time: set reset_time too")
            try:
                ZoneInfo(self.reset_time_zone)
            except (ValueError, ZoneInfoNotFoundError):
                raise ValueError(f"reset_time_zone: unknown time zone {self.reset_time_zone!r} "
                                 "(an IANA name such as Europe/Paris)") from None
        if self.reset_time is not None and self.reset_time.startswith("$"):
            from jsonpath_ng.ext import parse

            try:
                parse(self.reset_time)
            except Exception as exc:  # the parser raises several unrelated classes
                raise ValueError(f"reset_time: not a valid JSONPath: {exc}") from exc
        return self

    @property
    def raw_max(self) -> int | None:
        """The largest raw value the register holds (declared, else from width and sign)."""
        if self.max is not None:
            return self.max
        if self.width is None:
            return None
        return 2 ** (self.width - 1) - 1 if self.signed else 2**self.width - 1

    def is_unavailable(self, raw: float) -> bool:
        """True when the raw value is one the vendor uses for "no reading"."""
        return any(raw == marker for marker in self.unavailable)

    def info(self, to_unit: str | None, scale: float) -> CounterInfo:
        """The semantics in the value's unit: raw counts times unit conversion times scale."""
        top = self.raw_max
        factor = _factor(self.unit, to_unit) * Decimal(str(scale))
        limit = float(Decimal(top + (1 if self.overflow == "wrap" else 0)) * factor) if top is not None else None
        return CounterInfo(
            wraps_at=limit if self.overflow == "wrap" else None,
            ceiling=limit if self.overflow == "ceiling" else None,
            resettable=self.resettable, width=self.width, signed=self.signed,
        )


def _factor(from_unit: str | None, to_unit: str | None) -> Decimal:
    """Exact unit conversion factor (Wh -> kWh is 0.001), 1 when either side is unknown."""
    if not from_unit or not to_unit:
        return Decimal(1)
    src, dst = UNITS.get(from_unit.lower()), UNITS.get(to_unit.lower())
    if src is None or dst is None or src[0] != dst[0]:
        return Decimal(1)
    return Decimal(str(src[1])) / Decimal(str(dst[1]))


def register_unit(semantics: CounterSemantics | None) -> str | None:
    """The canonical unit of one raw count, or None when the preset does not say."""
    return canonical_unit(semantics.unit) if semantics is not None and semantics.unit else None
