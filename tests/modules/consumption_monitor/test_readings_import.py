"""``readings import`` on SQLite and PostgreSQL: every row checked, nothing stored on a bad row unless
skipped, stored once however often imported, marked as imported, counters corrected on the way in."""

from __future__ import annotations

from pathlib import Path

import pytest
from nxforge_modules.consumption_monitor.readings_import import IMPORT_ENGINE, ImportRejected, import_readings
from nxforge_modules.consumption_monitor.tables import meter_event, reading
from openpyxl import Workbook
from sqlalchemy import Engine, func, inspect, select

from nxforge.migrations.runner import migrate_module, rollback_module
from tests.modules.consumption_monitor.conftest import MODULE_DIR, add_endpoint, utc, write

NOW = utc(2026, 4, 1)
GOOD = """endpoint,time,kwh
rack-1,2026-03-01T00:00:00+01:00,1000.5
rack-1,2026-03-01T01:00:00+01:00,1002.5
rack-2,2026-03-01T00:00:00Z,20
rack-1,2026-03-01T02:00:00+01:00,3.0
"""  # rack-1 drops to 3.0: a reset, which the counter correction folds


def rows_of(engine: Engine) -> list[tuple[str, str, float, float, str | None]]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(  # type: ignore[misc]
            select(reading.c.endpoint_id, reading.c.read_at, reading.c.raw_kwh, reading.c.corrected_kwh,
                   reading.c.engine).order_by(reading.c.endpoint_id, reading.c.read_at))]


@pytest.fixture
def site(cm_engine: Engine) -> Engine:
    add_endpoint(cm_engine, "rack-1")
    add_endpoint(cm_engine, "rack-2")
    return cm_engine


def test_a_csv_is_stored_once_marked_and_corrected(site: Engine, tmp_path: Path) -> None:
    path = tmp_path / "march.csv"
    path.write_text(GOOD)
    report = import_readings(site, path, now=NOW)
    assert (report.rows, report.stored, report.already) == (4, 4, 0)
    stored = rows_of(site)
    assert [(r[0], r[1], r[2]) for r in stored] == [
        ("rack-1", utc(2026, 2, 28, 23), 1000.5), ("rack-1", utc(2026, 3, 1, 0), 1002.5),
        ("rack-1", utc(2026, 3, 1, 1), 3.0), ("rack-2", utc(2026, 3, 1), 20.0)]
    assert {r[4] for r in stored} == {IMPORT_ENGINE}
    assert stored[2][3] == pytest.approx(1005.5)  # the reset is folded: 1002.5 + 3.0
    again = import_readings(site, path, now=NOW)
    assert (again.stored, again.already) == (0, 4) and len(rows_of(site)) == 4


def test_an_import_before_collected_readings_recomputes_them(site: Engine, tmp_path: Path) -> None:
    for kwh, day in ((40.0, 1), (50.0, 2), (2.0, 3)):  # rack-1: the same readings stored in order
        write(site, "rack-1", utc(2026, 3, day), kwh)
    write(site, "rack-2", utc(2026, 3, 2), 50.0)
    write(site, "rack-2", utc(2026, 3, 3), 2.0)
    path = tmp_path / "early.csv"
    path.write_text("endpoint,time,kwh\nrack-2,2026-03-01T00:00:00Z,40\n")
    import_readings(site, path, now=NOW)
    in_order = [r[3] for r in rows_of(site) if r[0] == "rack-1"]
    assert [r[3] for r in rows_of(site) if r[0] == "rack-2"] == in_order and in_order[0] == 40.0


def test_bad_rows_are_named_and_nothing_is_stored(site: Engine, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("Endpoint;Time;kWh\nrack-1;2026-03-01T00:00:00+01:00;10\nrack-9;2026-03-01T00:00:00Z;1\n"
                    "rack-1;2026-03-01 05:00;2\nrack-1;2026-03-01T06:00:00Z;1.234,5\nrack-1;2026-03-01T07:00Z;-4\n"
                    "rack-2;2027-01-01T00:00:00Z;5\n")
    with pytest.raises(ImportRejected) as rejected:
        import_readings(site, path, now=NOW)
    problems = [(p.row, p.column) for p in rejected.value.problems]
    assert problems == [(3, "endpoint"), (4, "time"), (5, "kwh"), (6, "kwh"), (7, "time")]
    text = str(rejected.value)
    assert "row 3, column endpoint: no endpoint 'rack-9'" in text and "has no UTC offset" in text
    assert "use a point for decimals" in text and "in the future" in text and "--skip-bad" in text
    assert rows_of(site) == []
    report = import_readings(site, path, now=NOW, skip_bad=True)
    assert report.stored == 1 and len(report.skipped) == 5 and len(rows_of(site)) == 1


def test_an_xlsx_with_offsets_as_text_and_a_missing_column(site: Engine, tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["endpoint_id", "read_at", "raw_kwh"])
    sheet.append(["rack-1", "2026-03-10T12:00:00+01:00", 77.25])
    sheet.append(["rack-2", "2026-03-10T12:00:00+01:00", 8])
    path = tmp_path / "hand.xlsx"
    book.save(path)
    assert import_readings(site, path, now=NOW).stored == 2
    missing = tmp_path / "missing.csv"
    missing.write_text("endpoint,when,kwh\nrack-1,2026-03-01T00:00:00Z,1\n")
    with pytest.raises(ImportRejected, match="row 1, column time: no 'time' column"):
        import_readings(site, missing, now=NOW)
    with site.connect() as conn:
        assert conn.execute(select(func.count()).select_from(reading)).scalar_one() == 2


def test_import_events_survive_the_module_migrations_down_and_up(site: Engine, tmp_path: Path) -> None:
    """Migration 040 rebuilds the meter-event table on SQLite: its rows stay, and uninstalling still works."""
    path = tmp_path / "march.csv"
    path.write_text(GOOD)
    import_readings(site, path, now=NOW, who="fin-bob")
    with site.connect() as conn:
        events = conn.execute(select(meter_event.c.endpoint_id, meter_event.c.kind, meter_event.c.delta_kwh,
                                     meter_event.c.who, meter_event.c.why).order_by(meter_event.c.endpoint_id)).all()
    assert [tuple(e) for e in events] == [("rack-1", "import", 0.0, "fin-bob", "3 reading(s) imported from march.csv"),
                                          ("rack-2", "import", 0.0, "fin-bob", "1 reading(s) imported from march.csv")]
    undone = rollback_module(site, "consumption-monitor", MODULE_DIR / "migrations")
    assert "040_import_events" in undone and undone == sorted(undone, reverse=True)  # newest first, 050 before it
    assert not {"cm_meter_event", "cm_reading"} & set(inspect(site).get_table_names())
    assert "040_import_events" in migrate_module(site, "consumption-monitor", MODULE_DIR / "migrations")
