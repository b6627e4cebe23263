"""A known password goes through form, basic and token logins and appears in no artefact."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from nxforge.scraping import ScrapingEngine
from nxforge.simulator import Simulator

from .conftest import PASSWORD, new_engine, request_for


def test_password_is_in_no_artefact(sim: Simulator, tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                    faulty: Any) -> None:
    caplog.set_level(logging.DEBUG)
    faulty("sentry").set_fault("wrong_password")
    faulty("apc-nmc1").set_fault("sentinel", value="N/A")
    cases = [
        request_for(sim, "apc-nmc2-ok", key="leak-form", capture=True),  # form, logs off
        request_for(sim, "sentry-ok", key="leak-form-kept", capture=True),  # form, kept cookie
        request_for(sim, "sentry-f", key="leak-form-refused"),  # form, refused: evidence of login page
        request_for(sim, "apc-nmc1-ok", key="leak-basic", capture=True),  # basic
        request_for(sim, "apc-nmc1-f", key="leak-basic-fail"),  # basic, failure evidence
        request_for(sim, "eaton-g4-ok", key="leak-token", capture=True),  # token (Bearer)
        request_for(sim, "raritan-ok", key="leak-token-rpc", preset="raritan-api", capture=True),
        request_for(sim, "raritan-ok", key="leak-browser-form", capture=True),  # browser, screenshot
        request_for(sim, "sentry-f", key="leak-browser-refused", engine="browser",
                    steps=[{"action": "click", "selector": "#tab-inlets"}]),
        request_for(sim, "apc-nmc1-ok", key="leak-browser-basic", engine="browser", capture=True),
    ]
    with new_engine(ScrapingEngine, tmp_path) as engine:
        results = engine.scrape_many(cases)
    by_key = {r.key: r for r in results}
    assert not by_key["leak-form-refused"].ok and by_key["leak-form-refused"].error.error_class == "auth_failed"
    assert not by_key["leak-browser-refused"].ok
    assert all(by_key[k].ok for k in ("leak-form", "leak-basic", "leak-token", "leak-token-rpc",
                                      "leak-browser-form", "leak-browser-basic")), [r.error for r in results]

    artefacts: dict[str, bytes] = {}
    for result in results:
        artefacts[f"repr {result.key}"] = repr(result).encode()
        artefacts[f"json {result.key}"] = result.model_dump_json().encode()
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.suffix == ".png" for p in files) and any(p.suffix == ".html" for p in files)
    assert any(p.parent.name == "state" for p in files)
    for path in files:
        artefacts[str(path)] = path.read_bytes()
        assert PASSWORD not in path.name
    artefacts["logs"] = "\n".join(r.getMessage() for r in caplog.records).encode()
    assert caplog.records, "DEBUG logging was captured"
    leaks = [name for name, content in artefacts.items() if PASSWORD.encode() in content]
    assert leaks == []
