"""The Parquet archive of closed months and DuckDB's energy per day over archive + database (both dialects)."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest
import yaml
from nxforge_modules.consumption_monitor.archive import (
    ArchiveError,
    archive_dir,
    archive_month,
    archive_months,
    archived_months,
    closed_months,
    energy_per_day,
    energy_per_month,
)
from nxforge_modules.consumption_monitor.cli_archive import archive
from nxforge_modules.consumption_monitor.store import ensure_partitions
from nxforge_modules.consumption_monitor.tables import reading
from sqlalchemy import Engine, func, insert, select

from nxforge.db.schema import audit_log
from nxforge.environment import Environment
from nxforge.module_admin.lifecycle import enable_module
from nxforge.platform import Platform
from tests.modules.conftest import MODULES_DIR
from tests.modules.consumption_monitor.conftest import add_endpoint, utc

PARIS = ZoneInfo("Europe/Paris")
START = utc(2026, 9, 29, 22)  # 2026-09-30 00:00 in Paris
NOW = utc(2026, 11, 2, 12)


def _load(engine: Engine, endpoint_id: str, kw: float) -> None:
    """Hourly readings at a steady ``kw`` from START to NOW."""
    add_endpoint(engine, endpoint_id)
    hours = int((NOW - START).total_seconds() // 3600)
    rows = [{"endpoint_id": endpoint_id, "read_at": START + timedelta(hours=h), "success": True,
             "raw_kwh": 100.0 + kw * h, "corrected_kwh": 100.0 + kw * h, "power_w": kw * 1000,
             "reading_key": f"{endpoint_id}@{h}"} for h in range(hours)]
    with engine.begin() as conn:  # straight in, as benchmarks do: the counter paths are tested elsewhere
        ensure_partitions(conn, START, NOW)
        conn.execute(insert(reading), rows)


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(reading)).scalar_one())


@pytest.fixture
def loaded(cm_engine: Engine) -> Engine:
    _load(cm_engine, "ep-a", 2.0)
    _load(cm_engine, "ep-b", 0.5)
    return cm_engine


def test_closed_months_are_archived_once_and_stay_in_the_database(loaded: Engine, tmp_path: Path) -> None:
    root = archive_dir(tmp_path)
    assert closed_months(loaded, PARIS, NOW) == ["2026-09", "2026-10"]
    before = _count(loaded)
    first = archive_months(loaded, root, PARIS, NOW)
    assert [item.month for item in first.written] == ["2026-09", "2026-10"]
    october = archived_months(root)["2026-10"]
    assert october.rows == 2 * (31 * 24 + 1)  # October 2026 in Paris has 745 hours (clocks go back)
    frame = pl.read_parquet(root / "month=2026-10" / "readings.parquet")
    assert frame.height == october.rows and frame["read_at"].min() == utc(2026, 9, 30, 22).replace(tzinfo=None)
    again = archive_months(loaded, root, PARIS, NOW)
    assert again.written == [] and again.unchanged == ["2026-09", "2026-10"]
    assert sorted(p.name for p in root.iterdir()) == ["month=2026-09", "month=2026-10"]
    assert sorted(p.name for p in (root / "month=2026-10").iterdir()) == ["manifest.json", "readings.parquet"]
    assert _count(loaded) == before  # no prune setting: readings stay


def test_a_changed_file_is_caught_and_force_rewrites_it(loaded: Engine, tmp_path: Path) -> None:
    root = archive_dir(tmp_path)
    archive_month(loaded, root, "2026-10", PARIS, NOW)
    path = root / "month=2026-10" / "readings.parquet"
    path.write_bytes(path.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(ArchiveError, match="checksum"):
        archive_month(loaded, root, "2026-10", PARIS, NOW)
    item = archive_month(loaded, root, "2026-10", PARIS, NOW, force=True)
    manifest = json.loads((root / "month=2026-10" / "manifest.json").read_text())
    assert item is not None and manifest["sha256"] == item.sha256
    with pytest.raises(ArchiveError, match="not over"):
        archive_month(loaded, root, "2026-11", PARIS, NOW)


def test_prune_removes_only_old_archived_months(loaded: Engine, tmp_path: Path) -> None:
    root = archive_dir(tmp_path)
    report = archive_months(loaded, root, PARIS, NOW, keep_months=1)  # keep October (and November) in the database
    assert list(report.pruned) == ["2026-09"] and report.pruned["2026-09"] == 2 * 24
    with loaded.connect() as conn:
        first = conn.execute(select(func.min(reading.c.read_at))).scalar_one()
    assert first == utc(2026, 9, 30, 22)


def test_energy_per_day_is_the_same_from_archive_database_or_both(loaded: Engine, tmp_path: Path) -> None:
    root = archive_dir(tmp_path)
    days = (date(2026, 10, 1), date(2026, 11, 1))
    from_database = energy_per_day(loaded, root, ["ep-a", "ep-b"], *days, PARIS)
    archive_months(loaded, root, PARIS, utc(2026, 12, 5), months=["2026-09", "2026-10"], keep_months=1)
    assert _count(loaded) == 2 * 37  # November's readings only: October comes from Parquet
    mixed = energy_per_day(loaded, root, ["ep-a", "ep-b"], *days, PARIS)
    assert mixed.drop("source").equals(from_database.drop("source"))
    assert set(mixed["source"]) == {"archive", "database"}
    a = mixed.filter(pl.col("endpoint_id") == "ep-a")
    assert a.height == 32 and a["kwh"][0] == pytest.approx(48.0)
    assert a.filter(pl.col("day") == date(2026, 10, 25))["kwh"].item() == pytest.approx(50.0)  # a 25-hour day
    monthly = energy_per_month(loaded, root, ["ep-a"], date(2026, 10, 1), date(2026, 10, 31), PARIS)
    assert monthly["kwh"].to_list() == [pytest.approx(2.0 * 745)]
    assert energy_per_day(loaded, root, [], *days, PARIS).is_empty()


def test_nxforge_archive_command(nx_env: Environment, capsys: pytest.CaptureFixture[str]) -> None:
    env = dataclasses.replace(nx_env, modules_dir=MODULES_DIR)
    env.core_config_path.write_text(yaml.safe_dump({
        "timezone": "Europe/Paris", "modules": {"settings": {"consumption-monitor": {"archive_keep_months": 1}}}}))
    platform = Platform(env, clock=lambda: NOW)
    try:
        enable_module(platform, "consumption-monitor", "tests")
        _load(platform.engine, "ep-a", 2.0)
        ctx = platform.context("consumption-monitor")
        assert archive(ctx, []) == 0
        out = capsys.readouterr().out
        assert "archived 2026-09: 24 readings" in out and "archived 2026-10: 745 readings" in out
        assert "removed 2026-09 from the database: 24 readings" in out
        assert archive(ctx, []) == 0 and "unchanged: 2026-10" in capsys.readouterr().out
        assert archive(ctx, ["--month", "2026-09", "--force"]) == 0  # pruned: the only copy is kept as it is
        assert "unchanged: 2026-09" in capsys.readouterr().out
        listed = (archive(ctx, ["--list"]), capsys.readouterr().out)
        assert listed[0] == 0 and "2026-09            24 readings" in listed[1] and "2026-10           745" in listed[1]
        folder = env.module_data_dir("consumption-monitor") / "archive/readings/month=2026-10"
        assert (folder / "readings.parquet").exists()
        assert archive(ctx, ["--month", "2026-11"]) == 1 and "not over yet" in capsys.readouterr().err
        with platform.engine.connect() as conn:
            action = conn.execute(select(audit_log.c.action).order_by(audit_log.c.id.desc())).scalars().first()
        assert action == "readings.archive"
    finally:
        platform.close()
