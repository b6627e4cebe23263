"""The module's settings, typed once, so every caller reads them the same way.

Defaults live in one place, the manifest: the platform fills ``ctx.settings`` with them and
overlays nxforge.yaml, so nothing here restates a default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nxforge.sdk import ModuleContext, parse_duration


@dataclass(frozen=True)
class TemperatureSettings:
    """Parsed module settings (manifest defaults overlaid with nxforge.yaml)."""

    failures_before_alert: int
    default_hysteresis: float
    default_min_duration_s: float

    @classmethod
    def from_context(cls, ctx: ModuleContext) -> TemperatureSettings:
        """Read ``ctx.settings``."""
        return cls.from_mapping(ctx.settings)

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> TemperatureSettings:
        """Read a settings mapping as the platform fills it (every manifest setting present)."""
        return cls(
            failures_before_alert=int(raw["failures_before_alert"]),
            default_hysteresis=float(raw["default_hysteresis"]),
            default_min_duration_s=parse_duration(raw["default_min_duration"]),
        )
