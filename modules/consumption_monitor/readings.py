"""One attempt to read one endpoint, as stored (or spooled): built from a ScrapeResult.

A ``RawReading`` holds only what the meter said and when, never a derived value, so it can be
spooled to a file while the database is down and stored later with its counters computed then.
It carries two facts the device or its preset declares about the energy counter: ``ceiling_kwh``,
where it stops (``counter: {overflow: ceiling}``), so a reading there is held, not billed; and
``counter_reset_at``, when the device says it last restarted from 0 (``counter: {reset_time: ...}``,
Redfish ``SensorResetTime``), so a reset is known rather than guessed from a drop.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from nxforge.sdk import ScrapeResult

ENERGY_VALUE = "total_kwh"
# Optional extra values an endpoint's scrape config may read, by name -> (column, unit factors).
POWER_NAMES = ("power_w", "power_kw", "power")
VOLTAGE_NAMES = ("voltage_v", "voltage")
CURRENT_NAMES = ("current_a", "current")
PF_NAMES = ("power_factor", "pf")
TO_WATTS = {"w": 1.0, "kw": 1000.0, "mw": 1_000_000.0}


@dataclass(frozen=True)
class RawReading:
    """What one attempt produced; ``reading_key`` makes storing it twice store it once."""

    endpoint_id: str
    read_at: datetime
    success: bool
    raw_kwh: float | None = None
    power_w: float | None = None
    voltage_v: float | None = None
    current_a: float | None = None
    power_factor: float | None = None
    error_class: str | None = None
    error_message: str | None = None
    evidence_path: str | None = None
    engine: str | None = None
    duration_ms: int | None = None
    ceiling_kwh: float | None = None
    """The energy counter's declared ceiling (kWh) when it stops there until reset; absent in older spool files."""
    counter_reset_at: datetime | None = None
    """When the device says its energy counter last restarted from 0; absent in older spool files."""

    @property
    def reading_key(self) -> str:
        """Endpoint and exact time: one reading per endpoint per instant."""
        return f"{self.endpoint_id}@{self.read_at.isoformat()}"

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict (the spool's line format)."""
        data = asdict(self)
        data["read_at"] = self.read_at.isoformat()
        data["counter_reset_at"] = self.counter_reset_at.isoformat() if self.counter_reset_at else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RawReading:
        """The inverse of ``to_json``."""
        reset_at = data.get("counter_reset_at")
        return cls(**{**data, "read_at": datetime.fromisoformat(data["read_at"]),
                      "counter_reset_at": datetime.fromisoformat(reset_at) if reset_at else None})


def _first(result: ScrapeResult, names: tuple[str, ...]) -> tuple[str, float, str] | None:
    for name in names:
        value = result.values.get(name)
        if value is not None:
            return name, value.value, value.unit
    return None


def _watts(found: tuple[str, float, str] | None) -> float | None:
    if found is None:
        return None
    name, number, unit = found
    factor = TO_WATTS.get((unit or "").lower())
    if factor is None:
        factor = 1000.0 if name == "power_kw" else 1.0
    return number * factor


def reading_from_result(endpoint_id: str, result: ScrapeResult, read_at: datetime) -> RawReading:
    """The reading to store for a scrape result; an ok result without ``total_kwh`` is a config error."""
    evidence = result.evidence.screenshot or result.evidence.page_source
    common: dict[str, Any] = {
        "endpoint_id": endpoint_id,
        "read_at": read_at,
        "evidence_path": str(evidence) if evidence else None,
        "engine": result.engine,
        "duration_ms": round(result.duration_s * 1000),
    }
    if not result.ok:
        error = result.error
        message = error.message if error else "scrape failed without an error"
        if error and error.hint:
            message = f"{message} (hint: {error.hint})"
        return RawReading(success=False, error_class=error.error_class if error else "unknown",
                          error_message=message, **common)
    energy = result.values.get(ENERGY_VALUE)
    if energy is None:
        return RawReading(
            success=False, error_class="config",
            error_message=f"the scrape config reads no value named {ENERGY_VALUE!r}; "
            f"it read {sorted(result.values)}", **common,
        )
    voltage = _first(result, VOLTAGE_NAMES)
    current = _first(result, CURRENT_NAMES)
    factor = _first(result, PF_NAMES)
    return RawReading(
        success=True,
        raw_kwh=energy.value,
        ceiling_kwh=energy.counter.ceiling if energy.counter is not None else None,
        counter_reset_at=energy.counter.reset_at if energy.counter is not None else None,
        power_w=_watts(_first(result, POWER_NAMES)),
        voltage_v=voltage[1] if voltage else None,
        current_a=current[1] if current else None,
        power_factor=factor[1] if factor else None,
        **common,
    )


def ceiling_of(row: Any) -> float | None:
    """The ceiling a reading is held at: a new one carries it; a stored one kept it as its ``ceiling`` event."""
    if isinstance(row, RawReading):
        return row.ceiling_kwh
    return row.raw_kwh if getattr(row, "event", None) == "ceiling" else None
