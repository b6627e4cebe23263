"""Billing settings, typed once: how far a boundary may be extrapolated, what counts as a gap, the peak interval.

Their defaults are written in one place, the manifest: the platform fills ``ctx.settings`` from
it, and a query function called without a context (a test, a benchmark) reads the same
defaults from the same file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

from nxforge.sdk import ModuleContext, load_yaml, parse_duration

GAP_RULE = "linear"
MANIFEST = Path(__file__).with_name("manifest.yaml")


@cache
def manifest_defaults() -> dict[str, Any]:
    """Each setting's default as the manifest declares it."""
    settings = load_yaml(MANIFEST).data.get("settings") or {}
    return {name: spec.get("default") for name, spec in settings.items() if isinstance(spec, dict)}


@dataclass(frozen=True)
class BillingSettings:
    """Parsed billing settings (manifest defaults overlaid with nxforge.yaml)."""

    max_extrapolation_s: float
    """A boundary is extrapolated only from a reading this close to it, and only over this distance."""
    gap_after_s: float
    """Readings further apart than this (or than twice the endpoint's poll interval) leave a gap: estimated."""
    gap_linear_max_s: float
    """Gaps up to this long are estimated linearly; longer ones are estimated the same way and flagged."""
    peak_interval_s: float
    """Peak demand is the highest average power over windows this long."""

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> BillingSettings:
        """From a settings mapping (``ctx.settings``); absent keys take the manifest's defaults."""
        values = {**manifest_defaults(), **raw}
        return cls(
            max_extrapolation_s=parse_duration(values["max_extrapolation"]),
            gap_after_s=parse_duration(values["gap_after"]),
            gap_linear_max_s=parse_duration(values["gap_linear_max"]),
            peak_interval_s=parse_duration(values["peak_interval"]),
        )

    @classmethod
    def defaults(cls) -> BillingSettings:
        """The manifest's defaults, for callers without a module context."""
        return cls.from_mapping({})

    @classmethod
    def from_context(cls, ctx: ModuleContext) -> BillingSettings:
        """Read ``ctx.settings``."""
        return cls.from_mapping(ctx.settings)

    @classmethod
    def of(cls, settings: object | None) -> BillingSettings:
        """These settings, or the billing part of the module's settings object, or the manifest's defaults."""
        if isinstance(settings, BillingSettings):
            return settings
        defaults = cls.defaults()
        if settings is None:
            return defaults
        extrapolation = getattr(settings, "max_extrapolation_s", defaults.max_extrapolation_s)
        return replace(defaults, max_extrapolation_s=float(extrapolation))
