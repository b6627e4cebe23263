"""Query functions the pages render (plain functions returning Polars frames; tests call them directly)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import polars as pl
from sqlalchemy import Engine, select

from .config import Rule, SensorInfo
from .kinds import shown_unit
from .tables import alert_log, readings, sensor_state

CURRENT_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "sensor_id": pl.String, "name": pl.String, "kind": pl.String, "location": pl.String, "rack": pl.String,
    "value": pl.Float64, "unit": pl.String, "at": pl.Datetime("us", "UTC"), "level": pl.String,
    "direction": pl.String,
}


def current_state(db: Engine, sensors: list[SensorInfo]) -> pl.DataFrame:
    """One row per configured sensor: its last value and alert level (``unknown`` when never read)."""
    with db.connect() as conn:
        states = {row.sensor_id: row for row in conn.execute(select(sensor_state))}
    rows = []
    for sensor in sensors:
        state = states.get(sensor.id)
        rows.append({
            "sensor_id": sensor.id, "name": sensor.name, "kind": sensor.kind, "location": sensor.location,
            "rack": sensor.rack, "value": state.last_value if state else None, "unit": sensor.unit,
            "at": state.last_at if state else None, "level": state.level if state else "unknown",
            "direction": state.direction if state else None,
        })
    return pl.DataFrame(rows, schema=CURRENT_SCHEMA)


def rack_grid(current: pl.DataFrame, kind: str = "inlet") -> pl.DataFrame:
    """Location x rack of the hottest ``kind`` sensor per rack: the heat-map the Current page draws."""
    return (
        current.filter(pl.col("kind") == kind)
        .group_by("location", "rack")
        .agg(pl.col("value").max().alias("value"), pl.col("level").sort_by("value", descending=True).first())
        .sort("location", "rack")
    )


def trend(db: Engine, sensor_ids: list[str], start: datetime, end: datetime) -> pl.DataFrame:
    """Readings of ``sensor_ids`` in [start, end), failed reads left out (columns at, sensor_id, value)."""
    query = (
        select(readings.c.at, readings.c.sensor_id, readings.c.value)
        .where(readings.c.sensor_id.in_(sensor_ids), readings.c.at >= start, readings.c.at < end,
               readings.c.value.is_not(None))
        .order_by(readings.c.at)
    )
    with db.connect() as conn:
        rows = [row._asdict() for row in conn.execute(query)]
    return pl.DataFrame(rows, schema={"at": pl.Datetime("us", "UTC"), "sensor_id": pl.String, "value": pl.Float64})


def thresholds(sensors: list[SensorInfo]) -> pl.DataFrame:
    """The limits of each sensor in long form (sensor_id, kind, unit, direction, level, limit), to draw on charts."""
    rows = [
        {"sensor_id": s.id, "kind": s.kind, "unit": shown_unit(s.kind, s.unit), "direction": direction,
         "level": level, "limit": s.rule.limit(direction, level)}
        for s in sensors for direction in ("high", "low") for level in ("warning", "critical")
        if s.rule.limit(direction, level) is not None
    ]
    return pl.DataFrame(rows, schema={"sensor_id": pl.String, "kind": pl.String, "unit": pl.String,
                                      "direction": pl.String, "level": pl.String, "limit": pl.Float64})


THRESHOLD_TABLE_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "kind": pl.String, "unit": pl.String, "sensors": pl.String, "high_warning": pl.Float64,
    "high_critical": pl.Float64, "low_warning": pl.Float64, "low_critical": pl.Float64, "hysteresis": pl.Float64,
    "min_duration_s": pl.Float64,
}


def threshold_table(sensors: list[SensorInfo]) -> pl.DataFrame:
    """One row per sensor kind and set of limits, naming the kind, its unit and the sensors that share them."""
    groups: dict[tuple[str, str, Rule], list[str]] = {}
    for sensor in sensors:
        groups.setdefault((sensor.kind, shown_unit(sensor.kind, sensor.unit), sensor.rule), []).append(sensor.name)
    rows = [
        {"kind": kind, "unit": unit, "sensors": ", ".join(names), "high_warning": rule.high_warning,
         "high_critical": rule.high_critical, "low_warning": rule.low_warning, "low_critical": rule.low_critical,
         "hysteresis": rule.hysteresis, "min_duration_s": rule.min_duration_s}
        for (kind, unit, rule), names in groups.items()
    ]
    return pl.DataFrame(rows, schema=THRESHOLD_TABLE_SCHEMA)


def alert_history(db: Engine, since: datetime | None = None, limit: int = 500) -> pl.DataFrame:
    """Transitions (raised, escalated, deescalated, recovered), newest first."""
    query = select(alert_log).order_by(alert_log.c.at.desc(), alert_log.c.id.desc()).limit(limit)
    if since is not None:
        query = query.where(alert_log.c.at >= since)
    with db.connect() as conn:
        rows = [row._asdict() for row in conn.execute(query)]
    schema: dict[str, pl.DataType | type[pl.DataType]] = {
        "id": pl.Int64, "at": pl.Datetime("us", "UTC"), "sensor_id": pl.String, "transition": pl.String,
        "level": pl.String, "direction": pl.String, "value": pl.Float64, "threshold": pl.Float64,
        "message": pl.String,
    }
    return pl.DataFrame(rows, schema=schema)


def trend_export(series: pl.DataFrame, sensors: list[SensorInfo], tz: ZoneInfo) -> pl.DataFrame:
    """The readings of ``trend`` as the CSV download gives them: site time with its offset, names, kinds, units."""
    info = pl.DataFrame(
        [{"sensor_id": s.id, "sensor": s.name, "kind": s.kind, "unit": shown_unit(s.kind, s.unit)} for s in sensors],
        schema={"sensor_id": pl.String, "sensor": pl.String, "kind": pl.String, "unit": pl.String},
    )
    return (
        series.join(info, on="sensor_id", how="left")
        .sort("at", "sensor_id")
        .select(
            pl.col("at").dt.convert_time_zone(tz.key).dt.strftime("%Y-%m-%dT%H:%M:%S%:z").alias(f"time ({tz.key})"),
            "sensor_id", "sensor", "kind", "value", "unit",
        )
    )
