"""Billing review #5, #6, #7, #15 on SQLite and PostgreSQL, with the real statement lines: a month is never
closed unpriced (a broken endpoint YAML names its problem), a client bills one currency, time-of-use
windows split on local hours in a half-hour zone, and a retired circuit's fixed fee stops when it retires."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from nxforge_modules.consumption_monitor.billing import statement_lines
from nxforge_modules.consumption_monitor.billing_settings import manifest_defaults
from nxforge_modules.consumption_monitor.config import validate_text
from nxforge_modules.consumption_monitor.periods import month_period
from nxforge_modules.consumption_monitor.readings import RawReading
from nxforge_modules.consumption_monitor.reporting import source_for
from nxforge_modules.consumption_monitor.statement_tables import statement
from nxforge_modules.consumption_monitor.statements import (
    StatementError,
    close_month,
    month_state,
    served_statements,
)
from nxforge_modules.consumption_monitor.store import store_batch
from nxforge_modules.consumption_monitor.tables import endpoint
from nxforge_modules.consumption_monitor.terms import ClientTerms, Tariff
from nxforge_modules.consumption_monitor.terms_lines import whole_hour_offsets
from pydantic import ValidationError
from sqlalchemy import Engine, func, select, update

from nxforge.sdk import ConfigError, ModuleContext
from tests.modules.consumption_monitor.conftest import add_endpoint, utc

BERLIN = ZoneInfo("Europe/Berlin")
KOLKATA = ZoneInfo("Asia/Kolkata")
NOW = utc(2026, 12, 15, 12)
SITE_YAML = """\
clients: [{name: acme, rate_per_kwh: 0.2}]
endpoints:
  - id: a-1
    name: A1
    client: acme
    scrape: {preset: plain, url: "http://127.0.0.1:8780/d/plain-007/"}
  - id: a-2
    name: A2
    client: acme
    feed: C
    scrape: {preset: plain, url: "http://127.0.0.1:8780/d/plain-008/"}
"""


def steady(engine: Engine, endpoint_id: str, start: datetime, end: datetime, kw: float, step: timedelta) -> None:
    """Readings of a steady load from ``start`` (inclusive) to ``end`` (exclusive), in one transaction."""
    rows, at = [], start
    while at < end:
        rows.append(RawReading(endpoint_id, at, True, raw_kwh=100.0 + kw * (at - start).total_seconds() / 3600))
        at += step
    with engine.begin() as conn:
        store_batch(conn, rows)


def stored_statements(engine: Engine) -> int:
    """How many statements were ever frozen."""
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(statement)).scalar_one())


# 6: a month is never closed with every amount 0.00


def test_close_is_refused_while_the_endpoint_yaml_has_an_unrelated_error(cm_engine: Engine, tmp_path: Path) -> None:
    """Another endpoint's typo (feed: C) must not freeze October at 0.00 EUR: the close names file, line and field."""
    add_endpoint(cm_engine, "a-1", "acme")
    steady(cm_engine, "a-1", utc(2026, 9, 20), utc(2026, 11, 3), 2.0, timedelta(hours=1))
    (tmp_path / "site.yaml").write_text(SITE_YAML)
    ctx = cast(ModuleContext, SimpleNamespace(db=cm_engine, config_dir=tmp_path, settings=manifest_defaults(),
                                              timezone=BERLIN))
    with pytest.raises(StatementError) as refused:
        close_month(cm_engine, "2026-10", BERLIN, NOW, source_for(ctx), who="fin", max_estimated_share=0.2)
    assert f"{tmp_path / 'site.yaml'}:10: endpoints.1.feed" in refused.value.message
    assert "config check" in str(refused.value.hint)
    assert not month_state(cm_engine, "2026-10", BERLIN, NOW).closed and stored_statements(cm_engine) == 0
    _, draft = served_statements(cm_engine, "2026-10", BERLIN, NOW, source_for(ctx))  # still shown, unpriced
    assert draft[0].total_kwh == Decimal("1490.000") and draft[0].lines["amount"].to_list() == [None]

    (tmp_path / "site.yaml").write_text(SITE_YAML.replace("feed: C", "feed: B"))  # fixed: the close prices it
    closed = close_month(cm_engine, "2026-10", BERLIN, NOW, source_for(ctx), who="fin", max_estimated_share=0.2)
    assert (closed[0].total_kwh, closed[0].total_amount, closed[0].currency) == (
        Decimal("1490.000"), Decimal("298.00"), "EUR")  # 745 h x 2 kW x 0.20


# 5: one statement, one currency


def test_a_dated_tariff_switching_currency_is_a_config_error_naming_its_field(tmp_path: Path) -> None:
    text = SITE_YAML.replace("feed: C", "feed: B").replace(
        "clients: [{name: acme, rate_per_kwh: 0.2}]",
        "clients:\n  - name: acme\n    rate_per_kwh: 0.2\n    tariffs:\n      - valid_from: 2026-10-15\n"
        "        rate_per_kwh: 0.25\n        currency: USD")
    with pytest.raises(ConfigError) as refused:
        validate_text(tmp_path / "site.yaml", text)
    assert f"{tmp_path / 'site.yaml'}:7: clients.0.tariffs.0.currency: currency USD differs from the client's EUR" \
        in str(refused.value)
    validate_text(tmp_path / "site.yaml", text.replace("rate_per_kwh: 0.2\n", "rate_per_kwh: 0.2\n    currency: USD\n"))
    with pytest.raises(ValidationError, match=r"tariffs\.1\.currency\n  currency GBP differs"):
        ClientTerms.model_validate({"name": "acme", "currency": "EUR", "tariffs": [
            {"valid_from": "2026-10-15", "currency": "EUR"}, {"valid_from": "2026-11-01", "currency": "GBP"}]})


def test_a_statement_never_adds_two_currencies(cm_engine: Engine) -> None:
    """Lines in EUR (to 14 Oct) and USD (from 15 Oct) for one client, if they still reach a statement: refused,
    never one total of 338.90 'EUR'."""
    add_endpoint(cm_engine, "a-1", "acme")
    steady(cm_engine, "a-1", utc(2026, 9, 20), utc(2026, 12, 14), 2.0, timedelta(hours=12))
    mixed = ClientTerms.model_construct(  # what validation now refuses, built around it
        name="acme", display_name="", rate_per_kwh=0.2, currency="EUR", overhead_factor=1.0,
        tariffs=[Tariff(valid_from=date(2026, 10, 15), rate_per_kwh=0.25, currency="USD")])

    def source(month: str, at: datetime, client: str | None) -> pl.DataFrame:
        return statement_lines(cm_engine, month, BERLIN, at, clients={"acme": mixed}, client=client)

    assert sorted(set(source("2026-10", NOW, None)["currency"].to_list())) == ["EUR", "USD"]
    with pytest.raises(StatementError, match="lines in EUR and USD"):
        served_statements(cm_engine, "2026-10", BERLIN, NOW, source)
    with pytest.raises(StatementError, match="lines in EUR and USD"):
        close_month(cm_engine, "2026-10", BERLIN, NOW, source, who="fin", max_estimated_share=1)
    assert stored_statements(cm_engine) == 0


# 7: time-of-use windows in a zone whose offset is not a whole hour


def test_time_of_use_windows_split_on_local_hours_in_a_half_hour_zone(cm_engine: Engine) -> None:
    """Asia/Kolkata (+05:30), 15-minute readings, 1 kW except 10 kW 07:30-08:00 local: the 08:00-20:00 window
    (Mon-Fri) holds 22 weekdays x 12 h x 1 kW = 264 kWh, whether or not another term needs every reading."""
    add_endpoint(cm_engine, "a-1", "acme")
    rows, counter, at = [], 100.0, utc(2026, 9, 30)
    while at < utc(2026, 11, 2):
        rows.append(RawReading("a-1", at, True, raw_kwh=round(counter, 6)))
        local = at.astimezone(KOLKATA)
        counter += (10.0 if (local.hour, local.minute >= 30) == (7, True) else 1.0) * 0.25
        at += timedelta(minutes=15)
    with cm_engine.begin() as conn:
        store_batch(conn, rows)
    window = [{"name": "day", "hours": "08:00-20:00", "rate_per_kwh": 0.3}]
    for extra in ({}, {"committed_kw": 1000, "overage_per_peak_kw": 1}):
        clients = {"acme": ClientTerms.model_validate({"name": "acme", "rate_per_kwh": 0.1, "tariffs": [
            {"valid_from": "2026-01-01", "rate_per_kwh": 0.1, "tou": window, **extra}]})}
        lines = statement_lines(cm_engine, "2026-10", KOLKATA, NOW, clients=clients)
        energy = lines.filter(pl.col("term").is_in(["energy", "tou:day"])).select("term", "quantity", "amount")
        assert sorted(energy.rows()) == [("energy", Decimal("619.500"), Decimal("61.95")),
                                         ("tou:day", Decimal("264.000"), Decimal("79.20"))], extra


def test_the_hourly_rollup_serves_only_zones_a_whole_number_of_hours_from_utc() -> None:
    assert whole_hour_offsets(BERLIN, month_period("2026-10", BERLIN, NOW))  # DST change, whole hours throughout
    assert not whole_hour_offsets(KOLKATA, month_period("2026-10", KOLKATA, NOW))
    lord_howe = ZoneInfo("Australia/Lord_Howe")  # +10:30, +11:00 in summer (DST from 4 Oct 2026)
    assert not whole_hour_offsets(lord_howe, month_period("2026-10", lord_howe, NOW))


# 15: a retired circuit's fixed fee


def retire(engine: Engine, endpoint_id: str, at: datetime) -> None:
    """What a sync does when the endpoint leaves the YAML."""
    with engine.begin() as conn:
        conn.execute(update(endpoint).where(endpoint.c.id == endpoint_id).values(retired_at=at))


def fees(engine: Engine, month: str, clients: dict[str, Any]) -> list[tuple[Any, ...]]:
    """(quantity, amount, description) of the month's fixed-fee lines."""
    lines = statement_lines(engine, month, BERLIN, NOW, clients=clients)
    return lines.filter(pl.col("term") == "fixed_fee").select("quantity", "amount", "description").rows()


def test_a_circuit_retired_mid_month_pays_its_fixed_fee_to_its_retirement(cm_engine: Engine) -> None:
    """Retired 5 Oct 02:00 Berlin: 98 of October's 745 hours = 0.132 of the 100.00 fee; November none."""
    add_endpoint(cm_engine, "a-1", "acme")
    add_endpoint(cm_engine, "a-2", "acme")
    steady(cm_engine, "a-1", utc(2026, 9, 20), utc(2026, 10, 5), 2.0, timedelta(minutes=15))
    steady(cm_engine, "a-2", utc(2026, 9, 20), utc(2026, 12, 14), 1.0, timedelta(hours=1))
    retire(cm_engine, "a-1", utc(2026, 10, 5))
    retire(cm_engine, "a-2", utc(2026, 12, 1))  # after November: November's fee is whole
    clients = {"acme": ClientTerms.model_validate({"name": "acme", "rate_per_kwh": 0.2, "tariffs": [
        {"valid_from": "2026-01-01", "rate_per_kwh": 0.2, "fixed_fee_per_circuit": 100}]})}
    october = fees(cm_engine, "2026-10", clients)
    assert october[0][:2] == (Decimal("0.132"), Decimal("13.20"))
    assert october[0][2] == "Fixed monthly fee for circuit a-1, 0.132 of the month, retired 2026-10-05 02:00"
    assert october[1] == (Decimal("1.000"), Decimal("100.00"), "Fixed monthly fee for circuit a-2")
    assert fees(cm_engine, "2026-11", clients) == [
        (Decimal("1.000"), Decimal("100.00"), "Fixed monthly fee for circuit a-2")]
