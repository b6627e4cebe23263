"""The app's formatting: the kernel's one formatting module, under the name core pages import."""

from __future__ import annotations

from nxforge.formatting import (
    MISSING,
    SEVERITY_COLOURS,
    STATUS_COLOURS,
    ago,
    chart_text,
    duration,
    kw,
    kwh,
    label,
    local_time,
    money,
    number,
    percent,
    plain,
    status_badge,
    status_hex,
)

__all__ = ["MISSING", "SEVERITY_COLOURS", "STATUS_COLOURS", "ago", "chart_text", "duration", "kw", "kwh", "label",
           "local_time", "money", "number", "percent", "plain", "status_badge", "status_hex"]
