"""What the consumption pages share: settings, cached queries and the page's clock, read one way.

Every cached query takes the page's ``ctx.client`` (part of the cache key): a client user's pages
hold nothing of another client's endpoints, not even in the cache entry they read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import polars as pl
import streamlit as st
from sqlalchemy import Engine

from nxforge.sdk import ModuleContext

from ..billing import billing_by_endpoint
from ..periods import current_month
from ..queries import client_endpoint_ids, live_status
from ..settings import MonitorSettings

LIVE_TTL_S = 20
BILLING_TTL_S = 60


def database_key(engine: Engine) -> str:
    """The part of a cache key that says which database (never the password)."""
    return engine.url.render_as_string(hide_password=True)


@st.cache_data(ttl=LIVE_TTL_S, show_spinner=False)
def cached_live(_engine: Engine, database: str, minute: datetime, max_stale_s: float,
                client: str | None = None) -> pl.DataFrame:
    """Live status (of ``client``'s endpoints only, when given), recomputed at most once per ``LIVE_TTL_S``."""
    return live_status(_engine, minute, max_stale_s, client=client)


@st.cache_data(ttl=BILLING_TTL_S, show_spinner=False)
def cached_month_to_date(
    _engine: Engine, database: str, minute: datetime, tz_name: str, max_ext: float, client: str | None = None
) -> pl.DataFrame:
    """kWh per endpoint (of ``client`` only, when given) since the start of the current billing month."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(tz_name)
    table = billing_by_endpoint(_engine, current_month(tz, minute), tz, minute, max_extrapolation_s=max_ext)
    if client is not None:
        table = table.filter(pl.col("endpoint_id").is_in(client_endpoint_ids(_engine, client)))
    return table.select("endpoint_id", pl.col("kwh").cast(pl.Float64).alias("month_kwh"))


def live_of(ctx: ModuleContext) -> pl.DataFrame:
    """The page's endpoints (its client's only, for a client user) with their live status."""
    settings = settings_of(ctx)
    return cached_live(ctx.db, database_key(ctx.db), minute_now(ctx), settings.max_stale_s, ctx.client)


def settings_of(ctx: ModuleContext) -> MonitorSettings:
    """The module's typed settings."""
    return MonitorSettings.from_context(ctx)


def load_thresholds(ctx: ModuleContext) -> tuple[float, float]:
    """Load against the circuit rating (percent) from which Live colours a circuit warning, then alarm."""
    return float(ctx.settings.get("load_warning_pct", 80)), float(ctx.settings.get("load_alarm_pct", 95))


def minute_now(ctx: ModuleContext) -> datetime:
    """The context's clock rounded down to the minute: a stable cache key."""
    return ctx.clock().replace(second=0, microsecond=0)


def options_of(frame: pl.DataFrame, column: str) -> list[Any]:
    """Distinct non-empty values of ``column``, sorted, for filter widgets."""
    if column not in frame.columns or frame.is_empty():
        return []
    return sorted(v for v in frame[column].unique().to_list() if v not in (None, ""))
