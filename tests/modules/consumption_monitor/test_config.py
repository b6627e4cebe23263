"""Endpoint YAML: presets, file:line errors, duplicate ids across files, literal passwords refused."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from nxforge_modules.consumption_monitor.config import (
    dump_endpoints_file,
    load_endpoints,
    save_endpoints_file,
    validate_text,
)
from nxforge_modules.consumption_monitor.terms import ClientTerms, money

from nxforge.config.errors import ConfigError

GOOD = """\
clients: [{name: globex}, {name: initech},
  {name: acme, rate_per_kwh: 0.21, overhead_factor: 1.4}]
endpoints:
  - id: rack1-a
    name: Rack 1 feed A
    client: acme
    feed: A
    poll_interval: 15m
    circuit_max_kw: 7.4
    scrape: {preset: plain, url: "http://127.0.0.1:8780/d/plain-007/"}
  - id: rack1-b
    name: Rack 1 feed B
    client: globex
    client_history: [{client: acme, from: 2026-01-01}, {client: globex, from: 2026-04-10}]
    scrape:
      preset: apc-nmc1
      url: "http://127.0.0.1:8780/d/apc-nmc1-001/"
      auth: {type: basic, username: apc, password: "${APC_PASSWORD}"}
"""


def test_loads_presets_clients_and_sources(tmp_path: Path) -> None:
    (tmp_path / "site.yaml").write_text(GOOD)
    loaded = load_endpoints(tmp_path)
    assert [e.id for e in loaded.endpoints] == ["rack1-a", "rack1-b"]
    assert loaded.endpoints[0].scrape.engine == "http" and "total_kwh" in loaded.endpoints[0].scrape.values
    assert loaded.endpoints[1].scrape.auth.password == "${APC_PASSWORD}"  # type: ignore[union-attr]
    assert loaded.clients["acme"].rate_per_kwh == 0.21
    assert loaded.source["rack1-b"] == (tmp_path / "site.yaml", 11)
    assert loaded.endpoints[0].poll_interval_s(60) == 900 and loaded.endpoints[1].poll_interval_s(60) == 60


def test_errors_name_file_line_and_field(tmp_path: Path) -> None:
    bad = GOOD.replace("    feed: A\n", "    feed: C\n    colour: red\n")
    (tmp_path / "site.yaml").write_text(bad)
    with pytest.raises(ConfigError) as caught:
        load_endpoints(tmp_path)
    text = str(caught.value)
    assert f"{tmp_path / 'site.yaml'}:7: endpoints.0.feed:" in text
    assert f"{tmp_path / 'site.yaml'}:8: endpoints.0.colour: unknown field" in text


def test_duplicate_ids_across_files_name_both_places(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(GOOD)
    (tmp_path / "b.yaml").write_text("endpoints:\n" + GOOD.split("endpoints:\n")[1].split("  - id: rack1-b")[0])
    with pytest.raises(ConfigError) as caught:
        load_endpoints(tmp_path)
    assert f"{tmp_path / 'b.yaml'}:2: endpoints.0.id: duplicate endpoint id 'rack1-a': already defined at " \
           f"{tmp_path / 'a.yaml'}:4" in str(caught.value)


def test_literal_password_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        validate_text(tmp_path / "x.yaml", GOOD.replace('"${APC_PASSWORD}"', "hunter2"))
    assert "scrape.auth.password is a literal" in str(caught.value)
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize("auth", [
    "{type: snmp_community, community: private}",
    "{type: snmp_v3, user: ops, auth_protocol: sha, auth_password: s3cretkey1}",
    "{type: snmp_v3, user: ops, auth_protocol: sha, auth_password: \"${K}\", "
    "priv_protocol: aes, priv_password: s3cretkey2}",
])
def test_literal_snmp_community_and_v3_keys_are_refused(tmp_path: Path, auth: str) -> None:
    text = ("endpoints:\n  - id: pdu-1\n    client: acme\n    scrape:\n      engine: snmp\n"
            "      url: snmp://127.0.0.1:1161\n      auth: " + auth + "\n")
    with pytest.raises(ConfigError) as caught:
        validate_text(tmp_path / "x.yaml", text)
    shown = str(caught.value)
    assert "is a literal" in shown
    assert "private" not in shown and "s3cretkey" not in shown


@pytest.mark.parametrize(("change", "message"), [
    ("id: rack1-a", "id: Rack 1"),
    ("from: 2026-04-10", "from: 2025-04-10"),
    ("client: globex\n    client_history", "client: initech\n    client_history"),
    ("poll_interval: 15m", "poll_interval: fast"),
])
def test_field_rules(tmp_path: Path, change: str, message: str) -> None:
    with pytest.raises(ConfigError):
        validate_text(tmp_path / "x.yaml", GOOD.replace(change, message))


def test_save_validates_then_round_trips(tmp_path: Path) -> None:
    target = tmp_path / "site.yaml"
    with pytest.raises(ConfigError):
        save_endpoints_file(target, "endpoints: [{id: x}]")
    assert not target.exists()
    parsed = save_endpoints_file(target, GOOD)
    again, _ = validate_text(target, dump_endpoints_file(parsed))
    assert again == parsed


def test_undeclared_client_is_refused_with_its_line(tmp_path: Path) -> None:
    typo = GOOD.replace("client: acme\n    feed: A", "client: acmee\n    feed: A")
    with pytest.raises(ConfigError) as caught:
        validate_text(tmp_path / "x.yaml", typo)
    assert f"{tmp_path / 'x.yaml'}:6: endpoints.0.client: client 'acmee' is not declared" in str(caught.value)
    history = GOOD.replace("{client: acme, from: 2026-01-01}", "{client: acme-old, from: 2026-01-01}")
    (tmp_path / "site.yaml").write_text(history)
    with pytest.raises(ConfigError) as caught:
        load_endpoints(tmp_path)
    assert "endpoints.1.client_history.0.client: client 'acme-old' is not declared" in str(caught.value)


def test_clients_declared_in_another_file_count(tmp_path: Path) -> None:
    (tmp_path / "clients.yaml").write_text("clients:\n  - {name: acme}\n  - {name: globex}\n  - {name: initech}\n")
    endpoints_only = "endpoints:\n" + GOOD.split("endpoints:\n")[1]
    (tmp_path / "site.yaml").write_text(endpoints_only)
    assert [e.id for e in load_endpoints(tmp_path).endpoints] == ["rack1-a", "rack1-b"]
    validate_text(tmp_path / "site.yaml", endpoints_only)  # the editor sees the folder's clients
    with pytest.raises(ConfigError):
        validate_text(tmp_path / "other" / "site.yaml", endpoints_only)


def test_dated_tariffs_and_terms(tmp_path: Path) -> None:
    text = GOOD.replace("{name: acme, rate_per_kwh: 0.21, overhead_factor: 1.4}", (
        "{name: acme, rate_per_kwh: 0.21, overhead_factor: 1.4, currency: USD, tariffs: [{valid_from: 2026-10-15, "
        "rate_per_kwh: 0.25, committed_kw: 10, overage_per_kwh: 0.3, fixed_fee_per_circuit: 40, "
        "tou: [{name: peak, days: [mon, tue], hours: '08:00-20:00', rate_per_kwh: 0.4}]}]}"))
    parsed, _ = validate_text(tmp_path / "x.yaml", text)
    acme = next(client for client in parsed.clients if client.name == "acme")
    dated = acme.dated(ZoneInfo("Europe/Berlin"))
    assert [(when.isoformat(), tariff.rate_per_kwh, tariff.currency, tariff.overhead_factor)
            for when, tariff in dated] == [("1970-01-01T00:00:00+00:00", 0.21, "USD", 1.4),
                                          ("2026-10-14T22:00:00+00:00", 0.25, "USD", 1.4)]
    assert dated[1][1].tou[0].minutes() == (480, 1200)
    for broken in (text.replace("committed_kw: 10, ", ""),  # overage without a commitment
                   text.replace("'08:00-20:00'", "'eight to eight'"),  # not an hour range
                   text.replace("valid_from: 2026-10-15, ", "")):  # a dated tariff without its date
        with pytest.raises(ConfigError):
            validate_text(tmp_path / "x.yaml", broken)


def test_money_is_rounded_per_currency() -> None:
    assert money(Decimal("10.005"), "EUR") == Decimal("10.01")
    assert money(Decimal("1234.5"), "JPY") == Decimal("1235.00")
    assert str(money(Decimal("2"), "USD")) == "2.00"


def test_overlapping_time_of_use_windows_are_refused() -> None:
    windows = [{"name": "day", "hours": "08:00-20:00", "rate_per_kwh": 0.3},
               {"name": "night", "days": ["fri"], "hours": "19:00-07:00", "rate_per_kwh": 0.1}]
    with pytest.raises(ValueError, match="'day' and 'night' overlap on fri at 19:00"):
        ClientTerms.model_validate({"name": "acme", "tariffs": [{"valid_from": "2026-10-01", "tou": windows}]})
    windows[1]["days"] = ["sat"]  # Saturday 19:00 to Sunday 07:00: no weekday window there
    ClientTerms.model_validate({"name": "acme", "tariffs": [{"valid_from": "2026-10-01", "tou": windows}]})
