"""Each fault over real HTTP, set in-process and through the control API."""

from __future__ import annotations

import time
from datetime import timedelta

import httpx
import pytest

from nxforge.simulator import SimClock, Simulator

from .conftest import INITIAL_KWH, POWER_KW, dev_id

PLAIN = dev_id("plain")


def _kwh_text(client: httpx.Client, sim: Simulator) -> str:
    text = client.get(sim.url_for(PLAIN)).text
    return text.split('<span id="kwh">')[1].split("</span>")[0]


def test_down_closes_without_response(sim: Simulator, client: httpx.Client) -> None:
    sim.device(PLAIN).set_fault("down")
    with pytest.raises(httpx.TransportError):
        client.get(sim.url_for(PLAIN))
    assert client.get(sim.url_for(dev_id("geist")) + "api/dev").status_code == 200  # others unaffected
    sim.device(PLAIN).clear_faults()
    assert client.get(sim.url_for(PLAIN)).status_code == 200


def test_slow_delays_responses(sim: Simulator, client: httpx.Client) -> None:
    sim.device(PLAIN).set_fault("slow", delay=0.3)
    started = time.perf_counter()
    assert client.get(sim.url_for(PLAIN)).status_code == 200
    assert time.perf_counter() - started >= 0.3


def test_slow_triggers_client_timeout(sim: Simulator) -> None:
    sim.device(PLAIN).set_fault("slow", delay=1.0)
    with httpx.Client(timeout=0.2) as client, pytest.raises(httpx.ReadTimeout):
        client.get(sim.url_for(PLAIN))


def test_flaky_is_deterministic(sim: Simulator, client: httpx.Client) -> None:
    def statuses() -> list[int]:
        sim.device(PLAIN).set_fault("flaky", p=0.5, seed=7)
        return [client.get(sim.url_for(PLAIN)).status_code for _ in range(30)]

    first = statuses()
    assert set(first) == {200, 503}
    assert statuses() == first  # re-seeded: same sequence
    sim.device(PLAIN).set_fault("flaky", p=1.0, status=500)
    assert client.get(sim.url_for(PLAIN)).status_code == 500


def test_garbled_and_sentinel(sim: Simulator, client: httpx.Client) -> None:
    dev = sim.device(PLAIN)
    dev.set_fault("garbled")
    assert _kwh_text(client, sim) == "1#2?4,x"
    dev.clear_faults()
    dev.set_fault("sentinel", value="N/A")
    assert _kwh_text(client, sim) == "N/A"
    dev.set_fault("sentinel")
    assert _kwh_text(client, sim) == "-1"
    dev.clear_fault("sentinel")
    assert _kwh_text(client, sim) == "12543.5"


def test_display_faults_in_json_styles(sim: Simulator, client: httpx.Client) -> None:
    sim.device(dev_id("raritan")).set_fault("sentinel", value="---")
    r = client.get(sim.url_for(dev_id("raritan")) + "model/inlet/0/activeEnergy", auth=("admin", "secret"))
    assert r.json()["result"]["_ret_"]["value"] == "---"
    sim.device(dev_id("geist")).set_fault("garbled", text="??")
    data = client.get(sim.url_for(dev_id("geist")) + "api/dev").json()
    (serial,) = data["data"]
    assert data["data"][serial]["entity"]["total0"]["measurement"]["0"]["value"] == "??"


def test_stale_freezes_value(sim: Simulator, clock: SimClock, client: httpx.Client) -> None:
    sim.device(PLAIN).set_fault("stale")
    clock.advance(timedelta(hours=10))
    assert _kwh_text(client, sim) == "12543.5"
    sim.device(PLAIN).clear_faults()
    assert _kwh_text(client, sim) == f"{INITIAL_KWH + POWER_KW * 10:.1f}"


def test_wrong_password(sim: Simulator, client: httpx.Client) -> None:
    url = sim.url_for(dev_id("apc-nmc1")) + "status.htm"
    sim.device(dev_id("apc-nmc1")).set_fault("wrong_password")
    assert client.get(url, auth=("admin", "secret")).status_code == 401
    sim.device(dev_id("apc-nmc1")).set_fault("wrong_password", password="changed")
    assert client.get(url, auth=("admin", "changed")).status_code == 200
    sim.device(dev_id("apc-nmc1")).clear_faults()
    assert client.get(url, auth=("admin", "secret")).status_code == 200


def test_session_limit(sim: Simulator, client: httpx.Client) -> None:
    url = sim.url_for(dev_id("apc-nmc2")) + "Forms/login1"
    sim.device(dev_id("apc-nmc2")).set_fault("session_limit")
    r = client.post(url, data={"login_username": "admin", "login_password": "secret"})
    assert r.status_code == 200 and "Someone is currently logged in" in r.text
    sim.device(dev_id("apc-nmc2")).clear_faults()
    assert client.post(url, data={"login_username": "admin", "login_password": "secret"}).status_code == 303


def test_reset_rollover_swap_seen_over_http(sim: Simulator, clock: SimClock, client: httpx.Client) -> None:
    dev = sim.device(PLAIN)
    clock.advance(timedelta(hours=1))
    dev.set_fault("reset")
    clock.advance(timedelta(hours=1))
    assert _kwh_text(client, sim) == f"{POWER_KW:.1f}"
    dev.set_fault("swap", initial=100.0)
    assert _kwh_text(client, sim) == "100.0"
    dev.set_fault("rollover", in_s=0)
    assert _kwh_text(client, sim) == "0.0"
    clock.advance(timedelta(hours=1))
    assert _kwh_text(client, sim) == f"{POWER_KW:.1f}"
    assert sim.true_energy_kwh(PLAIN) == pytest.approx(POWER_KW * 3)
    assert [e.kind for e in dev.events] == ["reset", "swap", "rollover"]


def test_faults_over_control_api(sim: Simulator, client: httpx.Client) -> None:
    api = f"{sim.base_url}/_sim/fault/{PLAIN}"
    r = client.post(api, json={"fault": "sentinel", "value": "---"})
    assert r.status_code == 200 and r.json()["faults"] == {"sentinel": {"value": "---"}}
    assert _kwh_text(client, sim) == "---"
    client.post(api, json={"fault": "slow", "delay": 0.01})
    assert client.delete(api, params={"fault": "sentinel"}).json()["faults"] == {"slow": {"delay": 0.01}}
    assert client.delete(api).json()["faults"] == {}
    r = client.post(api, json={"fault": "reset"})
    assert r.json()["events"][0]["kind"] == "reset"
    assert client.post(api, json={"fault": "nope"}).status_code == 400
    assert client.post(api, json={"fault": "slow", "bogus": 1}).status_code == 400
    assert client.post(api, content=b"[]").status_code == 400
    assert client.post(f"{sim.base_url}/_sim/fault/ghost", json={"fault": "down"}).status_code == 404
