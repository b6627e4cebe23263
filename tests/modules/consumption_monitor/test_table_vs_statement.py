"""The billing table (``nxforge billing --by client|endpoint``) against the statement of the same month, on
SQLite and PostgreSQL: what finance checks, line by line and total by total (review #9, #10, #11, #14).

October 2026 in Europe/Berlin has 745 hours (DST ends on the 25th) and 22 weekdays; an endpoint drawing a
steady 2 kW bills 1,490 kWh, 528 of them on weekdays between 08:00 and 20:00.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest
import yaml
from nxforge_modules.consumption_monitor import cli
from nxforge_modules.consumption_monitor.billing import billing_by_client, billing_by_endpoint, statement_lines
from nxforge_modules.consumption_monitor.config import load_endpoints
from nxforge_modules.consumption_monitor.corrections import record_correction
from nxforge_modules.consumption_monitor.exports import statement_totals
from nxforge_modules.consumption_monitor.line_contract import LineSource
from nxforge_modules.consumption_monitor.readings import RawReading
from nxforge_modules.consumption_monitor.reporting import month_statements
from nxforge_modules.consumption_monitor.statements import close_month, served_statements
from nxforge_modules.consumption_monitor.store import store_batch
from nxforge_modules.consumption_monitor.sync import sync_endpoints
from nxforge_modules.consumption_monitor.tables import client_assignment
from nxforge_modules.consumption_monitor.terms import ClientTerms
from sqlalchemy import Engine, select

from nxforge.environment import Environment
from nxforge.module_admin.lifecycle import enable_module
from nxforge.platform import Platform
from tests.modules.conftest import MODULES_DIR
from tests.modules.consumption_monitor.conftest import add_endpoint, utc

BERLIN = ZoneInfo("Europe/Berlin")
NOW = utc(2026, 12, 15, 12)
CENT = Decimal("0.01")
TOU_AND_FEE = {"name": "acme", "rate_per_kwh": 0.2, "tariffs": [
    {"valid_from": "2026-01-01", "rate_per_kwh": 0.2, "fixed_fee_per_circuit": 50,
     "tou": [{"name": "peak", "hours": "08:00-20:00", "rate_per_kwh": 0.3}]}]}


FIRST_READING, LAST_READING = utc(2026, 9, 20), utc(2026, 11, 5)


def steady(engine: Engine, endpoint_id: str, kw: float, step_hours: int = 12, start: datetime = FIRST_READING,
           end: datetime = LAST_READING, missing: tuple[datetime, ...] = ()) -> None:
    """Readings of a steady draw from ``start`` to ``end`` (but at ``missing``), stored in one batch."""
    steps = int((end - start).total_seconds() // 3600) // step_hours
    with engine.begin() as conn:
        store_batch(conn, [RawReading(endpoint_id, start + timedelta(hours=n * step_hours), True,
                                      raw_kwh=100.0 + kw * n * step_hours) for n in range(steps)
                           if start + timedelta(hours=n * step_hours) not in missing])


def source(engine: Engine, clients: dict[str, ClientTerms]) -> LineSource:
    return lambda month, at, client: statement_lines(engine, month, BERLIN, at, clients=clients, client=client)


@pytest.mark.parametrize(("rate", "factor", "price", "shown_factor", "amount"), [
    (0.1234564, 1.0, Decimal("0.123456"), Decimal("1.000000"), Decimal("13796.21")),  # 111,750 kWh
    (0.2, 1.23456, Decimal("0.200000"), Decimal("1.234560"), Decimal("27592.42")),
    (0.1234564, 1.23456, Decimal("0.123456"), Decimal("1.234560"), Decimal("17032.25")),
])
def test_rate_and_factor_decimals_print_the_arithmetic_of_the_amount_everywhere(
        cm_engine: Engine, rate: float, factor: float, price: Decimal, shown_factor: Decimal,
        amount: Decimal) -> None:
    """#11: a line's quantity x unit price x overhead factor is its amount, to the cent, with the factor as
    printed; #10: the table prices at the statement's rounded rate, so both give the same amount."""
    add_endpoint(cm_engine, "a-1")
    steady(cm_engine, "a-1", 150.0, end=utc(2026, 12, 14))
    clients = {"acme": ClientTerms(name="acme", rate_per_kwh=rate, overhead_factor=factor)}
    _, (statement,) = served_statements(cm_engine, "2026-10", BERLIN, NOW, source(cm_engine, clients))
    (line,) = statement.lines.iter_rows(named=True)
    assert line["quantity"] == Decimal("111750.000") and line["unit_price"] == price
    assert line["overhead_factor"] == shown_factor
    assert (line["quantity"] * line["unit_price"] * line["overhead_factor"]).quantize(CENT) == line["amount"] == amount
    assert statement.total_amount == amount
    by_client = billing_by_client(cm_engine, "2026-10", BERLIN, NOW, clients=clients).row(0, named=True)
    by_endpoint = billing_by_endpoint(cm_engine, "2026-10", BERLIN, NOW, clients=clients).row(0, named=True)
    assert by_client["amount"] == by_endpoint["amount"] == amount
    assert by_client["rate"] == by_endpoint["rate"] == float(price)
    assert by_client["overhead_factor"] == float(shown_factor)


def test_open_month_table_bills_the_time_of_use_window_and_fixed_fee_of_the_statement(cm_engine: Engine) -> None:
    """#10: for an open month the table's amounts are its statement's, by client and by endpoint; after the
    close (served from the statement) the same month shows the same amount."""
    add_endpoint(cm_engine, "a-1")
    steady(cm_engine, "a-1", 2.0, step_hours=1)
    clients = {"acme": ClientTerms.model_validate(TOU_AND_FEE)}
    lines = source(cm_engine, clients)
    _, (draft,) = served_statements(cm_engine, "2026-10", BERLIN, NOW, lines)
    terms = {row["term"]: row for row in draft.lines.iter_rows(named=True)}
    assert terms["tou:peak"]["quantity"] == Decimal("528.000") and terms["energy"]["quantity"] == Decimal("962.000")
    assert terms["fixed_fee"]["amount"] == Decimal("50.00")
    assert draft.total_amount == Decimal("400.80")  # 528 x 0.30 + 962 x 0.20 + 50
    by_client = billing_by_client(cm_engine, "2026-10", BERLIN, NOW, clients=clients).row(0, named=True)
    assert (by_client["kwh"], by_client["amount"]) == (1490.0, Decimal("400.80"))
    by_endpoint = billing_by_endpoint(cm_engine, "2026-10", BERLIN, NOW, clients=clients).row(0, named=True)
    assert by_endpoint["amount"] == Decimal("400.80")  # every line of this statement is the circuit's
    closed = close_month(cm_engine, "2026-10", BERLIN, NOW, lines, who="fin", max_estimated_share=1.0)
    assert statement_totals(closed)["amount"].to_list() == [by_client["amount"]]


def test_client_kwh_is_the_sum_of_its_lines_rounded_quantities(cm_engine: Engine) -> None:
    """#14: three circuits of 1.0004 kWh each are three lines of 1.000 kWh: the client's kWh is 3.000 in the
    table as on the statement, not 3.001 (the rounded sum of the unrounded figures)."""
    for endpoint_id in ("a-1", "a-2", "a-3"):
        add_endpoint(cm_engine, endpoint_id, poll_interval_s=86400 * 40)
        with cm_engine.begin() as conn:
            store_batch(conn, [RawReading(endpoint_id, utc(2026, 9, 30, 22), True, raw_kwh=10.0)])
            store_batch(conn, [RawReading(endpoint_id, utc(2026, 10, 31, 23), True, raw_kwh=11.0004)])
    clients = {"acme": ClientTerms(name="acme", rate_per_kwh=100.0)}
    _, (statement,) = served_statements(cm_engine, "2026-10", BERLIN, NOW, source(cm_engine, clients))
    assert statement.lines["quantity"].to_list() == [Decimal("1.000")] * 3
    assert (statement.total_kwh, statement.total_amount) == (Decimal("3.000"), Decimal("300.00"))
    table = billing_by_client(cm_engine, "2026-10", BERLIN, NOW, clients=clients).row(0, named=True)
    assert (table["kwh"], table["amount"]) == (3.0, Decimal("300.00"))
    endpoints = billing_by_endpoint(cm_engine, "2026-10", BERLIN, NOW, clients=clients)
    assert endpoints["kwh"].to_list() == [1.0, 1.0, 1.0] and endpoints["kwh"].sum() == table["kwh"]


@pytest.fixture
def platform(nx_env: Environment) -> Iterator[Platform]:
    """A site whose client has a time-of-use window and a fixed fee; one circuit at 2 kW read hourly, but for
    a 3-hour stretch on 10 October, which this site's gap_after (4 h) does not count as a gap."""
    env = dataclasses.replace(nx_env, modules_dir=MODULES_DIR)
    env.core_config_path.write_text(yaml.safe_dump({"timezone": "Europe/Berlin", "site_name": "DC1", "modules": {
        "settings": {"consumption-monitor": {"gap_after": "4h"}}}}))
    folder = env.config_dir / "consumption-monitor"
    folder.mkdir(parents=True)
    (folder / "clients.yaml").write_text(yaml.safe_dump({"clients": [TOU_AND_FEE], "endpoints": []}, sort_keys=False))
    built = Platform(env, clock=lambda: NOW)
    enable_module(built, "consumption-monitor", "tests")
    add_endpoint(built.engine, "a-1")
    steady(built.engine, "a-1", 2.0, step_hours=1, missing=(utc(2026, 10, 10, 1), utc(2026, 10, 10, 2)))
    yield built
    built.close()


def test_billing_command_prints_the_statement_amount_before_and_after_the_close(
        platform: Platform, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """#10 through ``nxforge billing --by client``: the same command, the same month, the same amount."""
    ctx = platform.context("consumption-monitor")
    before, after = tmp_path / "open.csv", tmp_path / "closed.csv"
    assert cli.billing(ctx, ["--month", "2026-10", "--by", "client", "-o", str(before)]) == 0
    by_endpoint = pl.read_csv(cli.billing_table_bytes(ctx, "2026-10", "endpoint", "csv"))
    (draft,) = month_statements(ctx, "2026-10", NOW)[1]
    energy = draft.lines.filter(pl.col("term") == "energy").row(0, named=True)
    assert energy["covered_hours"] == 745.0 and energy["estimated_share"] == 0.0  # the site's gap_after
    assert by_endpoint.select("covered_hours", "estimated_share").row(0) == (745.0, 0.0)
    assert cli.billing(ctx, ["close", "--month", "2026-10", "--who", "fin"]) == 0
    assert cli.billing(ctx, ["--month", "2026-10", "--by", "client", "-o", str(after)]) == 0
    capsys.readouterr()
    open_table, closed_table = pl.read_csv(before), pl.read_csv(after)
    assert open_table["amount"].to_list() == closed_table["amount"].to_list() == [400.8]
    assert open_table["kwh"].to_list() == closed_table["kwh"].to_list() == [1490.0]
    assert by_endpoint["amount"].to_list() == [400.8]  # the open month by circuit: its lines, fee included

    # 10 kWh found in October after its close: November's statement carries the adjustment, and the table
    # of November says so beside the month's own amount.
    record_correction(platform.engine, "a-1", at=utc(2026, 10, 20), delta_kwh=10.0, who="ops", why="shunt",
                      recorded_at=NOW)
    november = pl.read_csv(cli.billing_table_bytes(ctx, "2026-11", "client", "csv"), schema_overrides={
        "amount": pl.Decimal(38, 2), "adjustments": pl.Decimal(38, 2), "statement_total": pl.Decimal(38, 2)})
    (draft,) = month_statements(ctx, "2026-11", NOW)[1]
    adjustments = draft.lines.filter(pl.col("term") == "adjustment")["amount"].sum()
    row = november.row(0, named=True)
    assert adjustments > 0 and row["adjustments"] == adjustments
    assert row["statement_total"] == draft.total_amount == row["amount"] + row["adjustments"]


SITE = """\
clients: [{name: globex, rate_per_kwh: 0.3}, {name: acme, rate_per_kwh: 0.2}]
endpoints:
  - id: rack1-b
    name: Rack 1 B
    client: globex
    client_history: [{client: acme, from: 2026-01-01}, {client: globex, from: DATE}]
    scrape: {preset: plain, url: "http://127.0.0.1:9/d/plain-007/"}
"""


def test_a_corrected_client_history_date_is_what_open_months_bill(cm_engine: Engine, tmp_path: Path) -> None:
    """#9: ops typed the move to globex as 15 October instead of 15 November, synced, then fixed the YAML:
    October is acme's alone and November is split on the 15th, as the YAML now says."""
    def sync(date: str, now: datetime) -> None:
        (tmp_path / "site.yaml").write_text(SITE.replace("DATE", date))
        sync_endpoints(cm_engine, load_endpoints(tmp_path), now=now, tz=BERLIN, default_poll_s=900,
                       default_rollover_kwh=None, default_max_kw=None)

    sync("2026-10-15", utc(2026, 10, 1))  # the typo
    steady(cm_engine, "rack1-b", 2.0, step_hours=1, end=utc(2026, 12, 2))
    sync("2026-11-15", utc(2026, 12, 2))  # fixed
    with cm_engine.connect() as conn:
        rows = conn.execute(select(client_assignment.c.valid_from, client_assignment.c.client)
                            .where(client_assignment.c.endpoint_id == "rack1-b")
                            .order_by(client_assignment.c.valid_from)).fetchall()
    assert [(when, client) for when, client in rows] == [(utc(2025, 12, 31, 23), "acme"),
                                                         (utc(2026, 11, 14, 23), "globex")]
    clients = load_endpoints(tmp_path).clients
    at = utc(2026, 12, 5)
    october = billing_by_endpoint(cm_engine, "2026-10", BERLIN, at, clients=clients).row(0, named=True)
    assert (october["client"], october["kwh"], october["amount"]) == ("acme", 1490.0, Decimal("298.00"))
    november = billing_by_client(cm_engine, "2026-11", BERLIN, at, clients=clients)
    assert dict(zip(november["client"], november["kwh"], strict=True)) == {"acme": 672.0, "globex": 768.0}
