"""Long-range History and Energy over the Parquet archive plus the recent database equal the database-only
queries (both dialects), with part of the range archived, pruned, and even its rollup gone."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from nxforge_modules.consumption_monitor import rollup
from nxforge_modules.consumption_monitor.archive import archive_dir, archive_months
from nxforge_modules.consumption_monitor.energy_queries import energy_per_period
from nxforge_modules.consumption_monitor.history_queries import (
    energy_per_period_archived,
    events_with_archive,
    history_energy,
    touches_archive,
)
from nxforge_modules.consumption_monitor.queries import event_readings, history_rollup
from nxforge_modules.consumption_monitor.store import ensure_partitions
from nxforge_modules.consumption_monitor.tables import reading, reading_hourly
from polars.testing import assert_frame_equal
from sqlalchemy import Engine, delete, func, insert, select

from .conftest import add_endpoint, utc

PARIS = ZoneInfo("Europe/Paris")
FIRST = utc(2026, 8, 20, 0, 10)
NOW = utc(2026, 11, 20, 9)
START, END = utc(2026, 8, 25, 13, 37), utc(2026, 11, 19, 8, 20)  # not on the hour, as "now minus a year" is
IDS = ["e1", "e2", "e3"]


def _row(endpoint_id: str, step: int, at: datetime) -> dict[str, object]:
    """Three meters: e1 steady with power and one reset (the corrected counter carries on), e2 without
    power with failures, e3 of globex."""
    row: dict[str, object] = {"endpoint_id": endpoint_id, "read_at": at, "success": True, "raw_kwh": None,
                              "corrected_kwh": None, "power_w": None, "event": None, "error_class": None,
                              "reading_key": f"{endpoint_id}@{at.isoformat()}"}
    if endpoint_id == "e1":
        raw = 500.0 + 6.0 * step if step < 400 else 3.0 * (step - 400)  # the meter restarts from 0
        corrected = 500.0 + 6.0 * step if step < 400 else 500.0 + 6.0 * 399 + 3.0 * (step - 399)
        return row | {"raw_kwh": raw, "corrected_kwh": corrected, "power_w": 2000.0 + (step % 5) * 100,
                      "event": "reset" if step == 400 else None}
    if endpoint_id == "e2":
        if step % 97 == 13:
            return row | {"success": False, "error_class": "unreachable"}
        kwh = round(9000.0 + 1.5 * step + (step % 3) * 0.25, 3)
        return row | {"raw_kwh": kwh, "corrected_kwh": kwh}
    kwh = 100.0 + 12.5 * step
    return row | {"raw_kwh": kwh, "corrected_kwh": kwh, "power_w": 4000.0}


@pytest.fixture
def loaded(cm_engine: Engine) -> Engine:
    """Readings every 3 hours (at :10, e2 at :40) from FIRST to NOW, e2 silent four days in October; written
    straight in with their rollup (the counter paths are tested elsewhere)."""
    add_endpoint(cm_engine, "e1", circuit_max_kw=50)
    add_endpoint(cm_engine, "e2", circuit_max_kw=50)
    add_endpoint(cm_engine, "e3", client="globex", circuit_max_kw=50)
    rows, step, at = [], 0, FIRST
    while at < NOW:
        rows += [_row("e1", step, at), _row("e3", step, at)]
        if not utc(2026, 10, 3) <= at < utc(2026, 10, 7):
            rows.append(_row("e2", step, at + timedelta(minutes=30)))
        step, at = step + 1, at + timedelta(hours=3)
    with cm_engine.begin() as conn:
        ensure_partitions(conn, FIRST, NOW)
        conn.execute(insert(reading), rows)
        for endpoint_id in IDS:
            rollup.rebuild(conn, endpoint_id, FIRST)
    return cm_engine


def _same(got: pl.DataFrame, expected: pl.DataFrame) -> None:
    assert got.height > 0
    assert_frame_equal(got, expected, check_exact=False, rel_tol=1e-9, abs_tol=1e-6)


def _database_only(engine: Engine) -> dict[str, pl.DataFrame]:
    """What the History and Energy pages compute from the database alone, for each shape compared."""
    found = {f"history-{bucket}": history_rollup(engine, IDS, START, END, bucket=bucket, tz=PARIS)
             for bucket in ("hour", "day")}
    found |= {f"energy-{period}": energy_per_period(engine, IDS, START, END, period, PARIS)
              for period in ("hour", "day", "week", "month")}
    found["history-client"] = history_rollup(engine, ["e3"], START, END, bucket="day", tz=PARIS)
    found["history-archived-only"] = history_rollup(engine, IDS, utc(2026, 9, 3, 7), utc(2026, 10, 20), "day",
                                                    PARIS)
    return found


def _duckdb_path(engine: Engine, root: Path) -> dict[str, pl.DataFrame]:
    found = {f"history-{bucket}": history_energy(engine, IDS, START, END, bucket=bucket, tz=PARIS, archive=root)
             for bucket in ("hour", "day")}
    found |= {f"energy-{period}": energy_per_period_archived(engine, IDS, START, END, period, PARIS, archive=root)
              for period in ("hour", "day", "week", "month")}
    found["history-client"] = history_energy(engine, IDS, START, END, "day", PARIS, client="globex", archive=root)
    found["history-archived-only"] = history_energy(engine, IDS, utc(2026, 9, 3, 7), utc(2026, 10, 20), "day", PARIS,
                                                    archive=root)
    return found


def test_archive_plus_database_equals_the_database_alone(loaded: Engine, tmp_path: Path) -> None:
    root = archive_dir(tmp_path)
    expected = _database_only(loaded)
    events = event_readings(loaded, IDS, START, END)
    assert events["event"].to_list() == ["reset"]
    for name, frame in _duckdb_path(loaded, root).items():
        _same(frame, expected[name])

    report = archive_months(loaded, root, PARIS, NOW, keep_months=1)  # Aug-Oct archived, Aug-Sep pruned
    assert [item.month for item in report.written] == ["2026-08", "2026-09", "2026-10"]
    assert list(report.pruned) == ["2026-08", "2026-09"]
    assert touches_archive(root, START, END) and not touches_archive(root, utc(2026, 11, 1), END)
    for name, frame in _duckdb_path(loaded, root).items():
        _same(frame, expected[name])

    with loaded.begin() as conn:  # the archived months now exist only in Parquet: not even their rollup is left
        conn.execute(delete(reading_hourly).where(reading_hourly.c.hour < utc(2026, 10, 31, 23)))
        conn.execute(delete(reading).where(reading.c.read_at < utc(2026, 10, 31, 23)))
        assert conn.execute(select(func.count()).select_from(reading)).scalar_one() > 0
    for name, frame in _duckdb_path(loaded, root).items():
        _same(frame, expected[name])
    assert events_with_archive(loaded, IDS, START, END, archive=root).equals(events)  # the reset, from Parquet
    assert events_with_archive(loaded, IDS, START, END, client="globex", archive=root).is_empty()


def test_the_seam_counts_each_reading_once(loaded: Engine, tmp_path: Path) -> None:
    root = archive_dir(tmp_path)
    archive_months(loaded, root, PARIS, NOW)  # archived and still in the database: Parquet is read for them
    monthly = energy_per_period_archived(loaded, ["e3"], utc(2026, 9, 30, 22), utc(2026, 11, 19, 23), "month",
                                         PARIS, archive=root)
    # readings at :10 UTC every 3 hours: October (local) runs from Sep 30 21:10 to Oct 31 21:10 UTC, 248
    # steps of 12.5 kWh; November to date from there to Nov 19 21:10 UTC, 152 steps
    assert monthly["kwh"].to_list() == pytest.approx([248 * 12.5, 152 * 12.5])
    total = history_energy(loaded, ["e3"], START, END, "day", PARIS, archive=root)["kwh"].sum()
    assert total == pytest.approx(history_rollup(loaded, ["e3"], START, END, "day", PARIS)["kwh"].sum())
    daily = history_energy(loaded, IDS, START, END, "day", PARIS, archive=root)
    long_day = daily.filter(pl.col("at") == utc(2026, 10, 24, 22))  # the 25-hour day: 8 steps of 3 hours
    assert long_day["kwh"].to_list()[::2] == pytest.approx([8 * 3.0, 8 * 12.5])  # e1 after its reset, e3
    assert history_energy(loaded, [], START, END, "day", PARIS, archive=root).is_empty()
    assert history_energy(loaded, IDS, START, END, "day", PARIS, client="nobody", archive=root).is_empty()
