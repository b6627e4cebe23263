"""The module's settings, typed once, so every caller reads them the same way."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from nxforge.sdk import ModuleContext, parse_duration


@dataclass(frozen=True)
class MonitorSettings:
    """Parsed module settings (manifest defaults overlaid with nxforge.yaml)."""

    default_poll_s: float
    rollover_kwh: float | None
    timezone: ZoneInfo
    max_stale_s: float
    max_extrapolation_s: float
    alert_threshold_kwh: float
    failures_before_alert: int
    evidence_on_success: bool
    claim_lease_s: float = 600.0
    claim_batch: int = 0
    write_batch: int = 100

    @classmethod
    def from_context(cls, ctx: ModuleContext) -> MonitorSettings:
        """Read ``ctx.settings``; an empty timezone means the site's."""
        raw: dict[str, Any] = ctx.settings
        zone = str(raw.get("timezone") or "")
        rollover = float(raw.get("rollover_kwh") or 0)
        return cls(
            default_poll_s=parse_duration(raw.get("default_poll_interval") or "15m"),
            rollover_kwh=rollover or None,
            timezone=ZoneInfo(zone) if zone else ctx.timezone,
            max_stale_s=parse_duration(raw.get("max_stale") or "1h"),
            max_extrapolation_s=parse_duration(raw.get("max_extrapolation") or "1d"),
            alert_threshold_kwh=float(raw.get("alert_threshold_kwh") or 0),
            failures_before_alert=int(raw.get("failures_before_alert") or 3),
            evidence_on_success=bool(raw.get("evidence_on_success")),
            claim_lease_s=parse_duration(raw.get("claim_lease") or "10m"),
            claim_batch=int(raw.get("claim_batch") or 0),
            write_batch=max(1, int(raw.get("write_batch") or 100)),
        )
