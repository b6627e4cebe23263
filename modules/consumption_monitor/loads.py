"""Load against the circuit rating, per endpoint and per rack, and the A/B check: plain Polars frames.

A rack fed by two circuits (feeds A and B) must survive losing one: when A+B together draw more
than the weaker feed can carry alone, a failover would trip it, so the rack is flagged.
"""

from __future__ import annotations

import polars as pl

LEVELS = ("ok", "warning", "alarm", "unknown")
RACK_COLUMNS = ["room", "row", "rack", "location", "a_kw", "a_rating_kw", "a_load_pct", "b_kw", "b_rating_kw",
                "b_load_pct", "total_kw", "ab_load_pct", "ab_flag", "level"]


def split_location(location: str | None) -> tuple[str, str, str]:
    """``Room 1 / Row A / Rack 01`` -> (room, row, rack); missing parts are empty, a bare name is the rack."""
    parts = [part.strip() for part in (location or "").split("/") if part.strip()]
    if len(parts) >= 3:
        return parts[0], parts[1], " / ".join(parts[2:])
    if len(parts) == 2:
        return parts[0], "", parts[1]
    return "", "", parts[0] if parts else ""


def _level(pct: pl.Expr, warn_pct: float, alarm_pct: float) -> pl.Expr:
    return (pl.when(pct.is_null()).then(pl.lit("unknown")).when(pct >= alarm_pct).then(pl.lit("alarm"))
            .when(pct >= warn_pct).then(pl.lit("warning")).otherwise(pl.lit("ok")))


def endpoint_loads(live: pl.DataFrame, warn_pct: float, alarm_pct: float) -> pl.DataFrame:
    """The live frame with power_kw, load_pct (of circuit_max_kw) and level (ok, warning, alarm, unknown)."""
    rating = pl.col("circuit_max_kw").cast(pl.Float64)
    power = (pl.col("power_w").cast(pl.Float64) / 1000.0)
    pct = pl.when(rating > 0).then(power / rating * 100.0)
    return live.with_columns(power.alias("power_kw"), pct.alias("load_pct")).with_columns(
        _level(pl.col("load_pct"), warn_pct, alarm_pct).alias("level"))


def rack_loads(live: pl.DataFrame, warn_pct: float, alarm_pct: float) -> pl.DataFrame:
    """One row per location: feeds A and B side by side, their sum, and the A/B check.

    ``ab_load_pct`` is A+B against the weaker rated feed; ``ab_flag`` is true when that is over
    100 % (one feed alone could not carry the rack). ``level`` is the worst of the feeds' loads and
    the A/B load. Endpoints without a feed count as feed A.
    """
    if live.is_empty():
        return pl.DataFrame(schema={c: pl.String for c in RACK_COLUMNS})
    loads = endpoint_loads(live, warn_pct, alarm_pct).with_columns(
        pl.col("location").cast(pl.String).fill_null(""),
        pl.when(pl.col("feed").cast(pl.String).str.to_uppercase() == "B").then(pl.lit("b")).otherwise(pl.lit("a"))
        .alias("side"))
    per_side = loads.group_by("location", "side").agg(
        pl.when(pl.col("power_kw").is_not_null().any()).then(pl.col("power_kw").sum()).alias("kw"),
        pl.col("circuit_max_kw").cast(pl.Float64).min().alias("rating"))
    wide = None
    for side in ("a", "b"):
        part = per_side.filter(pl.col("side") == side).select(
            "location", pl.col("kw").alias(f"{side}_kw"), pl.col("rating").alias(f"{side}_rating_kw"))
        wide = part if wide is None else wide.join(part, on="location", how="full", coalesce=True)
    assert wide is not None
    locations = loads.select("location").unique()
    wide = locations.join(wide, on="location", how="left")
    weaker = pl.min_horizontal("a_rating_kw", "b_rating_kw")
    both = pl.col("a_kw").is_not_null() & pl.col("b_kw").is_not_null()
    total = pl.sum_horizontal("a_kw", "b_kw")
    parts = [split_location(location) for location in wide["location"].to_list()]
    frame = wide.with_columns(
        pl.Series("room", [p[0] for p in parts], pl.String), pl.Series("row", [p[1] for p in parts], pl.String),
        pl.Series("rack", [p[2] for p in parts], pl.String),
        pl.when(pl.col("a_rating_kw") > 0).then(pl.col("a_kw") / pl.col("a_rating_kw") * 100).alias("a_load_pct"),
        pl.when(pl.col("b_rating_kw") > 0).then(pl.col("b_kw") / pl.col("b_rating_kw") * 100).alias("b_load_pct"),
        pl.when(pl.col("a_kw").is_not_null() | pl.col("b_kw").is_not_null()).then(total).alias("total_kw"),
        pl.when(both & (weaker > 0)).then(total / weaker * 100).alias("ab_load_pct"),
    ).with_columns(pl.col("ab_load_pct").gt(100.0).fill_null(False).alias("ab_flag"))
    worst = pl.max_horizontal("a_load_pct", "b_load_pct", "ab_load_pct")
    return (frame.with_columns(_level(worst, warn_pct, alarm_pct).alias("level"))
            .sort("room", "row", "rack").select(RACK_COLUMNS))
