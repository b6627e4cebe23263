"""``nxforge billing close|reopen``, statement files and ``readings import`` through the module's commands,
with the real billing query function, on SQLite and PostgreSQL. October in Europe/Berlin has 745 hours:
an endpoint read every 12 hours at a steady 2 kW bills 1,490 kWh (the independent reference)."""

from __future__ import annotations

import csv
import dataclasses
import io
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from nxforge_modules.consumption_monitor import cli
from nxforge_modules.consumption_monitor.corrections import record_correction
from nxforge_modules.consumption_monitor.readings import RawReading
from nxforge_modules.consumption_monitor.store import store_batch
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select

from nxforge.db.schema import audit_log
from nxforge.environment import Environment
from nxforge.module_admin.lifecycle import enable_module
from nxforge.module_system.contract import ModuleContext
from nxforge.platform import Platform
from tests.modules.conftest import MODULES_DIR
from tests.modules.consumption_monitor.conftest import add_endpoint, utc

NOW = utc(2026, 12, 15, 12)
POWER = {"a-1": 2.0, "a-2": 1.0, "g-1": 0.5}
CLIENTS = [{"name": "acme", "display_name": "Acme GmbH", "rate_per_kwh": 0.2, "overhead_factor": 1.5},
           {"name": "globex", "rate_per_kwh": 0.3, "currency": "EUR"}]


@pytest.fixture
def platform(nx_env: Environment) -> Iterator[Platform]:
    env = dataclasses.replace(nx_env, modules_dir=MODULES_DIR)
    env.core_config_path.write_text(yaml.safe_dump({  # readings 12 h apart are not gaps here
        "timezone": "Europe/Berlin", "site_name": "DC1",
        "modules": {"settings": {"consumption-monitor": {"gap_after": "13h"}}}}))
    folder = env.config_dir / "consumption-monitor"
    folder.mkdir(parents=True)
    (folder / "clients.yaml").write_text(yaml.safe_dump({"clients": CLIENTS, "endpoints": []}, sort_keys=False))
    built = Platform(env, clock=lambda: NOW)
    enable_module(built, "consumption-monitor", "tests")
    for endpoint_id in POWER:
        add_endpoint(built.engine, endpoint_id, "globex" if endpoint_id.startswith("g") else "acme")
    start = utc(2026, 9, 20)
    for step in range(0, 24 * 86, 12):
        at = start + timedelta(hours=step)
        with built.engine.begin() as conn:
            store_batch(conn, [RawReading(e, at, True, raw_kwh=100.0 + kw * step, power_w=kw * 1000)
                               for e, kw in POWER.items()])
    yield built
    built.close()


def run(ctx: ModuleContext, capsys: pytest.CaptureFixture[str], *argv: str, command: object = None) -> tuple[int, str]:
    """Exit status, and what was printed (stdout, then stderr)."""
    status = (command or cli.billing)(ctx, list(argv))  # type: ignore[operator]
    captured = capsys.readouterr()
    return status, captured.out + captured.err


def test_close_serves_the_frozen_statement_in_every_format(platform: Platform, capsys: pytest.CaptureFixture[str],
                                                           tmp_path: Path) -> None:
    ctx = platform.context("consumption-monitor")
    status, out = run(ctx, capsys, "close", "--month", "2026-10", "--who", "fin")
    assert status == 0 and "ST-202610-ACME" in out and "ST-202610-GLOBEX" in out, out
    assert "2,235.000 kWh" in out and "670.50 EUR" in out  # (2 + 1) kW x 745 h; x 1.5 x 0.20
    with platform.engine.connect() as conn:
        actions = [row.action for row in conn.execute(select(audit_log))]
    assert "billing.close" in actions
    assert run(ctx, capsys, "close", "--month", "2026-10")[0] == 1

    lines_csv = tmp_path / "lines.csv"
    assert run(ctx, capsys, "--month", "2026-10", "-o", str(lines_csv))[0] == 0
    rows = list(csv.DictReader(io.StringIO(lines_csv.read_text())))
    energy = {r["endpoint_id"]: r for r in rows if r["term"] == "energy"}
    assert Decimal(energy["a-1"]["quantity"]) == Decimal("1490.000") and energy["a-1"]["statement"] == "ST-202610-ACME"
    assert lines_csv.read_bytes() == cli.billing_table_bytes(ctx, "2026-10", "endpoint", "csv", NOW + timedelta(1))

    status, out = run(ctx, capsys, "--month", "2026-10", "--by", "client")  # the statements, one per client
    assert status == 0 and "ST-202610-GLOBEX" in out and "670.50" in out

    pdf, xlsx, zip_path, xero = (tmp_path / n for n in ("s.pdf", "s.xlsx", "acme.zip", "xero.csv"))
    assert run(ctx, capsys, "--month", "2026-10", "--format", "pdf", "-o", str(pdf))[0] == 0
    assert run(ctx, capsys, "--month", "2026-10", "--format", "statements", "-o", str(xlsx))[0] == 0
    assert run(ctx, capsys, "--month", "2026-10", "--client", "acme", "-o", str(zip_path))[0] == 0
    assert run(ctx, capsys, "--month", "2026-10", "--format", "accounting", "-o", str(xero))[0] == 0
    text = " ".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert "ST-202610-ACME" in text and "Acme GmbH" in text and "670.50 EUR" in text
    book = load_workbook(xlsx)
    assert book.sheetnames == ["Summary", "acme", "globex"] and float(book["Summary"]["I2"].value) == 670.5
    assert "ST-202610-ACME/readings.csv" in zipfile.ZipFile(zip_path).namelist()
    assert xero.read_text().splitlines()[0].startswith("ContactName,InvoiceNumber,InvoiceDate,DueDate")
    assert run(ctx, capsys, "--month", "2026-10", "--client", "acme", "--format", "dispute")[0] == 2  # needs -o


def test_a_late_correction_is_adjusted_next_month_and_reopen_makes_version_2(
        platform: Platform, capsys: pytest.CaptureFixture[str]) -> None:
    ctx = platform.context("consumption-monitor")
    assert run(ctx, capsys, "close", "--month", "2026-10")[0] == 0
    record_correction(platform.engine, "a-2", at=utc(2026, 10, 10), delta_kwh=25.0, who="ops-bo",
                      why="meter missed a day", recorded_at=NOW + timedelta(minutes=1))
    status, out = run(ctx, capsys, "--month", "2026-11", "--format", "lines", "--client", "acme")
    adjustment = [r for r in csv.DictReader(io.StringIO(out.split("wrote")[0])) if r["term"] == "adjustment"]
    assert status == 0 and len(adjustment) == 1
    assert adjustment[0]["adjusts"] == "ST-202610-ACME" and Decimal(adjustment[0]["quantity"]) == Decimal("25.000")
    assert "ops-bo" in adjustment[0]["description"] and Decimal(adjustment[0]["amount"]) == Decimal("7.50")
    status, out = run(ctx, capsys, "reopen", "--month", "2026-10", "--why", "meter fault found", "--who", "root")
    assert status == 0 and "version 1 is kept" in out
    status, out = run(ctx, capsys, "close", "--month", "2026-10")
    assert status == 0 and "ST-202610-ACME-V2" in out and "2,260.000 kWh" in out


def test_readings_import_command(platform: Platform, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    ctx = platform.context("consumption-monitor")
    path = tmp_path / "hand.csv"
    path.write_text("endpoint,time,kwh\na-1,2026-12-14T10:00:00+01:00,5000\nnope,2026-12-14T10:00:00Z,1\n")
    status, out = run(ctx, capsys, "import", str(path), command=cli.readings)
    assert status == 1 and "row 3, column endpoint: no endpoint 'nope'" in out
    status, out = run(ctx, capsys, "import", str(path), "--skip-bad", command=cli.readings)
    assert status == 0 and "1 reading(s) stored" in out
