"""Each fault over real HTTP, set in-process and through the control API."""

from __future__ import annotations

import contextlib
import threading
import time
from datetime import timedelta

import httpx
import pytest

from nxforge.simulator import DeviceSpec, SimClock, Simulator

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


# ----- hostile faults ------------------------------------------------------------------------


def test_huge_declares_its_length_and_streams_it(sim: Simulator) -> None:
    sim.device(PLAIN).set_fault("huge", mb=3)
    with httpx.Client(timeout=5) as client, client.stream("GET", sim.url_for(PLAIN)) as response:
        assert int(response.headers["content-length"]) == 3 * 1024 * 1024
        assert response.headers["content-type"].startswith("text/html")
        assert sum(len(chunk) for chunk in response.iter_bytes()) == 3 * 1024 * 1024


def test_endless_streams_without_a_length_until_the_client_leaves(sim: Simulator) -> None:
    sim.device(PLAIN).set_fault("endless")
    read = 0
    with httpx.Client(timeout=5) as client, client.stream("GET", sim.url_for(PLAIN)) as response:
        assert "content-length" not in response.headers
        for chunk in response.iter_bytes():
            read += len(chunk)
            if read > 8 * 1024 * 1024:
                break
    assert read > 8 * 1024 * 1024
    assert httpx.get(sim.url_for(dev_id("geist")) + "api/dev").status_code == 200  # the server is fine


def test_endless_redirect_never_repeats_a_url(sim: Simulator, client: httpx.Client) -> None:
    sim.device(PLAIN).set_fault("endless_redirect")
    seen = []
    url = sim.url_for(PLAIN)
    for _ in range(5):
        response = client.get(url)
        assert response.status_code == 302
        url = str(response.url.join(response.headers["location"]))
        seen.append(url)
    assert len(set(seen)) == 5 and seen[-1].endswith("/loop/5")
    with pytest.raises(httpx.TooManyRedirects):
        client.get(sim.url_for(PLAIN), follow_redirects=True)


def test_binary_is_deterministic_bytes(sim: Simulator, client: httpx.Client) -> None:
    sim.device(PLAIN).set_fault("binary", size=1000, content_type="text/html")
    first = client.get(sim.url_for(PLAIN))
    assert first.headers["content-type"] == "text/html" and len(first.content) == 1000
    assert first.content.startswith(b"\x89PNG\r\n\x1a\n\x00")
    assert client.get(sim.url_for(PLAIN)).content == first.content


@pytest.mark.parametrize("phase", ["headers", "body"])
def test_slowloris_trickles_below_any_read_timeout(sim: Simulator, phase: str) -> None:
    sim.device(PLAIN).set_fault("slowloris", interval=0.02, phase=phase)
    started = time.perf_counter()
    with httpx.Client(timeout=0.5) as client:  # every read gets a byte well within 0.5 s
        response = client.get(sim.url_for(PLAIN))
    elapsed = time.perf_counter() - started
    assert response.status_code == 200 and '<span id="kwh">' in response.text
    trickled = len(response.content) + (150 if phase == "headers" else 0)
    assert elapsed > 0.02 * trickled * 0.8


def test_blackhole_accepts_and_never_answers(sim: Simulator) -> None:
    sim.device(PLAIN).set_fault("blackhole")
    with httpx.Client(timeout=0.3) as client, pytest.raises(httpx.ReadTimeout):
        client.get(sim.url_for(PLAIN))
    sim.device(PLAIN).clear_faults()
    assert httpx.get(sim.url_for(PLAIN)).status_code == 200


def test_stop_is_prompt_with_hostile_connections_open(clock: SimClock) -> None:
    sim = Simulator([DeviceSpec("plain-1", "plain")], clock=clock).start()
    sim.device("plain-1").set_fault("blackhole")
    def hang() -> None:
        with contextlib.suppress(httpx.HTTPError):
            httpx.get(sim.url_for("plain-1"), timeout=30)

    waiter = threading.Thread(target=hang, daemon=True)
    waiter.start()
    time.sleep(0.2)
    started = time.perf_counter()
    sim.stop()
    assert time.perf_counter() - started < 3
    waiter.join(timeout=5)
    assert not waiter.is_alive()


@pytest.mark.parametrize(("fault", "params"), [
    ("huge", {"mb": 0}), ("slowloris", {"phase": "trailers"}), ("slowloris", {"interval": 0}),
    ("endless_redirect", {"status": 200}), ("binary", {"size": 0}), ("blackhole", {"max_s": -1}),
    ("endless", {"bogus": 1}),
])
def test_hostile_fault_parameters_are_checked(sim: Simulator, fault: str, params: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        sim.device(PLAIN).set_fault(fault, **params)
    assert sim.device(PLAIN).faults == {}
