"""Billing settings, typed once: how far a boundary may be extrapolated, what counts as a gap, the peak interval."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nxforge.sdk import ModuleContext, parse_duration

GAP_RULE = "linear"


@dataclass(frozen=True)
class BillingSettings:
    """Parsed billing settings (manifest defaults overlaid with nxforge.yaml)."""

    max_extrapolation_s: float = 86400.0
    gap_after_s: float = 3600.0
    """Readings further apart than this (or than twice the endpoint's poll interval) leave a gap: estimated."""
    gap_linear_max_s: float = 86400.0
    """Gaps up to this long are estimated linearly; longer ones are estimated the same way and flagged."""
    peak_interval_s: float = 900.0

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> BillingSettings:
        """From a settings mapping (``ctx.settings``); absent keys take the defaults."""
        return cls(
            max_extrapolation_s=parse_duration(raw.get("max_extrapolation") or "1d"),
            gap_after_s=parse_duration(raw.get("gap_after") or "1h"),
            gap_linear_max_s=parse_duration(raw.get("gap_linear_max") or "1d"),
            peak_interval_s=parse_duration(raw.get("peak_interval") or "15m"),
        )

    @classmethod
    def from_context(cls, ctx: ModuleContext) -> BillingSettings:
        """Read ``ctx.settings``."""
        return cls.from_mapping(ctx.settings)

    @classmethod
    def of(cls, settings: object | None) -> BillingSettings:
        """These settings, or the billing part of the module's settings object, or the defaults."""
        if isinstance(settings, BillingSettings):
            return settings
        if settings is None:
            return cls()
        return cls(max_extrapolation_s=float(getattr(settings, "max_extrapolation_s", 86400.0)))
