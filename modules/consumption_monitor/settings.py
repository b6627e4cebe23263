"""The module's settings, typed once, so every caller reads them the same way.

Defaults live in one place, the manifest: the platform fills ``ctx.settings`` with them and
overlays nxforge.yaml, so nothing here restates a default.
"""

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
    default_max_kw: float | None
    timezone: ZoneInfo
    max_stale_s: float
    max_extrapolation_s: float
    alert_threshold_kwh: float
    failures_before_alert: int
    evidence_on_success: bool
    claim_lease_s: float
    claim_batch: int
    write_batch: int

    @classmethod
    def from_context(cls, ctx: ModuleContext) -> MonitorSettings:
        """Read ``ctx.settings``; an empty timezone means the site's, a 0 rollover or power limit means none."""
        raw: dict[str, Any] = ctx.settings
        zone = str(raw["timezone"] or "")
        return cls(
            default_poll_s=parse_duration(raw["default_poll_interval"]),
            rollover_kwh=float(raw["rollover_kwh"] or 0) or None,
            default_max_kw=float(raw["default_max_kw"] or 0) or None,
            timezone=ZoneInfo(zone) if zone else ctx.timezone,
            max_stale_s=parse_duration(raw["max_stale"]),
            max_extrapolation_s=parse_duration(raw["max_extrapolation"]),
            alert_threshold_kwh=float(raw["alert_threshold_kwh"]),
            failures_before_alert=int(raw["failures_before_alert"]),
            evidence_on_success=bool(raw["evidence_on_success"]),
            claim_lease_s=parse_duration(raw["claim_lease"]),
            claim_batch=int(raw["claim_batch"]),
            write_batch=max(1, int(raw["write_batch"])),
        )
