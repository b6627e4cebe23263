"""The /_sim/ control API and the CLI."""

from __future__ import annotations

import re
import threading
import time
from datetime import timedelta

import httpx
import pytest

from nxforge.simulator import STYLES, SimClock, Simulator
from nxforge.simulator.cli import main

from .conftest import INITIAL_KWH, POWER_KW, START, dev_id


def test_devices_listing(sim: Simulator, client: httpx.Client) -> None:
    devices = client.get(sim.base_url + "/_sim/devices").json()
    assert [d["style"] for d in devices] == list(STYLES)
    eaton = next(d for d in devices if d["style"] == "eaton-g4")
    assert eaton["url"] == sim.url_for("eaton-g4-1") and eaton["url"].startswith("https://")
    assert {"id", "style", "url", "username"} <= set(eaton)
    # the control API also answers on the TLS listener
    assert client.get(sim.tls_base_url + "/_sim/devices").status_code == 200


def test_truth_and_clock(sim: Simulator, clock: SimClock, client: httpx.Client) -> None:
    plain = dev_id("plain")
    truth = client.get(f"{sim.base_url}/_sim/truth/{plain}").json()
    assert truth["true_kwh"] == 0.0
    assert truth["displayed_kwh"] == pytest.approx(INITIAL_KWH)
    assert truth["at"] == START.isoformat()

    r = client.post(sim.base_url + "/_sim/clock", json={"advance_s": 30 * 86400})
    assert r.json()["frozen"] is True
    truth = client.get(f"{sim.base_url}/_sim/truth/{plain}").json()
    assert truth["true_kwh"] == pytest.approx(POWER_KW * 720)
    assert truth["displayed_kwh"] == pytest.approx(INITIAL_KWH + POWER_KW * 720)

    past = (START + timedelta(hours=1)).isoformat()
    assert client.get(f"{sim.base_url}/_sim/truth/{plain}", params={"at": past}).json()["true_kwh"] == pytest.approx(
        POWER_KW
    )

    r = client.post(sim.base_url + "/_sim/clock", json={"set": "2025-02-01T00:00:00+00:00"})
    assert r.json()["now"] == "2025-02-01T00:00:00+00:00"
    assert clock.now().isoformat() == "2025-02-01T00:00:00+00:00"
    assert client.get(sim.base_url + "/_sim/clock").json()["now"] == "2025-02-01T00:00:00+00:00"

    assert client.post(sim.base_url + "/_sim/clock", json={"set": "2025-02-01T00:00:00"}).status_code == 400
    assert client.post(sim.base_url + "/_sim/clock", json={}).status_code == 400
    assert client.get(sim.base_url + "/_sim/truth/ghost").status_code == 404
    assert client.get(sim.base_url + "/_sim/nothing").status_code == 404


def test_control_api_ignores_device_faults(sim: Simulator, client: httpx.Client) -> None:
    sim.device(dev_id("plain")).set_fault("down")
    assert client.get(f"{sim.base_url}/_sim/truth/{dev_id('plain')}").json()["faults"] == {"down": {}}


def test_stop_closes_keep_alive_connections(clock: SimClock) -> None:
    from nxforge.simulator import DeviceSpec

    sim = Simulator([DeviceSpec("p", "plain")], clock=clock).start()
    url = sim.url_for("p")
    with httpx.Client() as client:
        assert client.get(url).status_code == 200
        sim.stop()
        with pytest.raises(httpx.TransportError):
            client.get(url)


def test_cli_prints_devices_and_stops(capsys: pytest.CaptureFixture[str]) -> None:
    stop = threading.Event()
    result: list[int] = []
    thread = threading.Thread(
        target=lambda: result.append(main(["--devices", "9", "--port", "0", "--tls-port", "0"], stop=stop))
    )
    thread.start()
    out = ""
    deadline = time.monotonic() + 10
    while "Control API" not in out and time.monotonic() < deadline:
        out += capsys.readouterr().out
        time.sleep(0.05)
    stop.set()
    thread.join(timeout=10)
    assert result == [0]
    lines = [line for line in out.splitlines() if re.match(r"^\S+-\d{3} ", line)]
    assert len(lines) == 9
    assert lines[0].split()[:2] == ["apc-nmc2-000", "apc-nmc2"]
    assert "https://127.0.0.1:" in next(line for line in lines if "eaton-g4" in line)


def test_cli_rejects_bad_arguments() -> None:
    with pytest.raises(SystemExit):
        main(["--devices", "many"])
    assert main(["--devices", "-1"]) == 2
