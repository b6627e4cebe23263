"""benchmarks/history_scale.py at a small size: generated months in the archive layout, the DuckDB queries
and the figures printed, its folder removed afterwards (seconds, not the 350-million-reading run)."""

from __future__ import annotations

import importlib.util
from datetime import date
from pathlib import Path
from types import ModuleType

import numpy as np
import polars as pl
import pytest
from nxforge_modules.consumption_monitor.archive import archived_months, verify_month

from tests.modules.conftest import MODULES_DIR

SCRIPT = MODULES_DIR.parent / "benchmarks" / "history_scale.py"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("history_scale_bench", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_month_of_generated_readings_is_a_valid_archive_month(tmp_path: Path) -> None:
    scale = _script()
    carry = np.full(3, 1000.0)
    frame = scale.month_readings(date(2026, 3, 1), 3, 15, carry)
    assert frame.height == 3 * (31 * 24 - 1) * 4  # the clocks go forward on 29 March: 743 hours
    assert frame["endpoint_id"].unique().sort().to_list() == ["ep-0000", "ep-0001", "ep-0002"]
    per_endpoint = frame.group_by("endpoint_id").agg(pl.col("corrected_kwh").drop_nulls().diff().min())
    assert per_endpoint["corrected_kwh"].min() >= 0  # counters never go down
    assert carry.tolist() == pytest.approx(frame.group_by("endpoint_id", maintain_order=True)
                                           .agg(pl.col("corrected_kwh").drop_nulls().last())["corrected_kwh"]
                                           .to_list(), abs=0.01)


def test_the_scale_script_runs_small_and_cleans_up(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scale = _script()
    folder = tmp_path / "scale"
    assert scale.main(["--endpoints", "12", "--years", "1", "--repeats", "0", "--dir", str(folder), "--keep"]) == 0
    out = capsys.readouterr().out
    assert "generated and archived 420,480 readings" in out  # 12 endpoints x 365 days x 96
    assert "a client's year by day (6 endpoints)" in out and "2,190" in out  # ep-0006 to ep-0011, 365 days
    assert "all 12 endpoints, 1 years by month" in out and "one endpoint, 1 years by day" in out
    root = folder / "archive" / "readings"
    months = archived_months(root)
    assert len(months) == 12 and sum(item.rows for item in months.values()) == 420_480
    for item in months.values():
        verify_month(root, item)
    assert scale.main(["--endpoints", "2", "--years", "1", "--repeats", "0", "--dir", str(tmp_path / "gone")]) == 0
    assert not (tmp_path / "gone").exists()
