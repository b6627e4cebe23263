"""Config validation (errors keep pydantic field paths) and presets (deep merge)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from nxforge.scraping.config import FormAuth, ScrapeConfig, TokenAuth
from nxforge.scraping.presets import deep_merge, list_presets, load_preset

BASE: dict[str, Any] = {"url": "http://127.0.0.1:1/d/x/", "values": {"total_kwh": {"selector": "#kwh"}}}


def locations(data: dict[str, Any]) -> list[tuple[Any, ...]]:
    with pytest.raises(ValidationError) as caught:
        ScrapeConfig.model_validate(data)
    return [tuple(e["loc"]) for e in caught.value.errors()]


def test_minimal_config_defaults() -> None:
    config = ScrapeConfig.model_validate(BASE)
    assert config.engine == "browser" and config.verify_tls and config.retries == 2
    assert config.auth.type == "none"


def test_typos_are_errors_with_paths() -> None:
    assert locations({**BASE, "timeout": 3}) == [("timeout",)]
    assert locations({**BASE, "values": {"total_kwh": {"selector": "#k", "scal": 2}}}) == [
        ("values", "total_kwh", "scal")
    ]
    assert ("auth", "form", "password_field") in locations({**BASE, "auth": {"type": "form", "username": "a",
                                                                             "password": "b",
                                                                             "username_field": "#u"}})
    assert locations({**BASE, "steps": [{"action": "navigate", "url": "a"}, {"action": "clik"}]}) == [("steps", 1)]
    assert locations({**BASE, "values": {"e": {"selector": "#e", "regex": "no group"}}}) == [
        ("values", "e", "regex")
    ]
    assert locations({**BASE, "url": "127.0.0.1/x"}) == [("url",)]
    assert locations({**BASE, "preset": "nope"}) == [("preset",)]


def test_http_engine_refuses_browser_steps_naming_the_step() -> None:
    with pytest.raises(ValidationError) as caught:
        ScrapeConfig.model_validate({**BASE, "engine": "http", "steps": [
            {"action": "navigate", "url": "a.htm"}, {"action": "click", "selector": "#tab"}]})
    error = caught.value.errors()[0]
    assert error["loc"] == ("steps",)
    assert "steps[1]" in error["msg"] and "click" in error["msg"]


def test_embedded_config_keeps_paths() -> None:
    class Endpoint(BaseModel):
        name: str
        scrape: ScrapeConfig

    with pytest.raises(ValidationError) as caught:
        Endpoint.model_validate({"name": "a", "scrape": {**BASE, "values": {"k": {"selector": "#k", "unit": 1}}}})
    assert caught.value.errors()[0]["loc"] == ("scrape", "values", "k", "unit")


def test_deep_merge() -> None:
    base = {"a": {"b": 1, "c": {"d": 2}}, "steps": [1, 2], "x": 1}
    merged = deep_merge(base, {"a": {"c": {"e": 3}}, "steps": [9]})
    assert merged == {"a": {"b": 1, "c": {"d": 2, "e": 3}}, "steps": [9], "x": 1}
    assert base["steps"] == [1, 2]  # untouched


def test_preset_fills_in_and_endpoint_overrides() -> None:
    config = ScrapeConfig.model_validate({
        "preset": "apc-nmc2", "url": "http://h/d/apc-01/",
        "auth": {"password": "${APC01_PASSWORD}", "username": "ops"},
        "values": {"total_kwh": {"scale": 1.0, "selector": "#energy span.value"}},
    })
    assert isinstance(config.auth, FormAuth)
    assert config.auth.username == "ops" and config.auth.password == "${APC01_PASSWORD}"
    assert config.auth.login_url == "logon.htm" and config.auth.logout_url == "logout.htm"
    assert config.values["total_kwh"].selector == "#energy span.value"
    assert config.values["total_kwh"].unit == "kWh"
    assert config.steps[0].action == "navigate"


def test_changing_auth_type_replaces_the_preset_auth() -> None:
    config = ScrapeConfig.model_validate({"preset": "sentry", "url": "http://h/d/s/",
                                          "auth": {"type": "basic", "username": "u", "password": "p"}})
    assert config.auth.type == "basic"


@pytest.mark.parametrize("name", list_presets())
def test_every_preset_validates(name: str) -> None:
    url = {"snmp": "snmp://127.0.0.1", "modbus": "modbus://127.0.0.1"}.get(load_preset(name).get("engine"),
                                                                            "http://127.0.0.1/d/x/")
    config = ScrapeConfig.model_validate({"preset": name, "url": url})
    assert config.values  # the engine is generic: energy presets read total_kwh, others their own names
    assert load_preset(name)  # a fresh copy each time


def test_expected_presets_exist() -> None:
    assert {"apc-nmc2", "apc-nmc1", "raritan", "eaton-g4", "geist", "sentry", "panel-eu", "plain"} <= set(
        list_presets())


def test_token_preset_body_placeholders() -> None:
    config = ScrapeConfig.model_validate({"preset": "eaton-g4", "url": "https://h/d/e/"})
    assert isinstance(config.auth, TokenAuth)
    assert config.auth.token_body["password"] == "{{password}}"
