"""Every style over real HTTP: pages, login flows, formats (browser-only JS is not run here)."""

from __future__ import annotations

import re
import ssl
from datetime import timedelta

import httpx
import pytest
from jsonpath_ng import parse as jsonpath

from nxforge.simulator import SimClock, Simulator

from .conftest import dev_id

RPC_LOGIN = {"jsonrpc": "2.0", "method": "newSession", "params": {"username": "admin", "password": "secret"}, "id": 1}
GET_READING = {"jsonrpc": "2.0", "method": "getReading", "id": 2}
EATON_API = "rest/mbdetnrs/1.0/"


def _nmc2_login(client: httpx.Client, sim: Simulator, password: str = "secret") -> httpx.Response:
    url = sim.url_for(dev_id("apc-nmc2"))
    return client.post(url + "Forms/login1", data={"login_username": "admin", "login_password": password})


# ----- plain ---------------------------------------------------------------------------------
def test_plain(sim: Simulator, client: httpx.Client) -> None:
    r = client.get(sim.url_for(dev_id("plain")))
    assert r.status_code == 200
    assert '<span id="kwh">12543.5</span>' in r.text
    assert r.headers["content-type"].startswith("text/html")


def test_unknown_device_and_missing_slash(sim: Simulator, client: httpx.Client) -> None:
    assert client.get(sim.base_url + "/d/nope/").status_code == 404
    r = client.get(sim.base_url + "/d/plain-1")
    assert r.status_code == 301
    assert r.headers["location"] == "/d/plain-1/"
    assert client.get(sim.base_url + "/").status_code == 200


def test_keep_alive_reuses_one_connection(sim: Simulator, client: httpx.Client) -> None:
    url = sim.url_for(dev_id("plain"))
    ports = set()
    for _ in range(5):
        with client.stream("GET", url) as r:
            r.read()
            stream = r.extensions["network_stream"]
            ports.add(stream.get_extra_info("client_addr"))
    assert len(ports) == 1


# ----- apc-nmc2 ------------------------------------------------------------------------------
def test_apc_nmc2_login_read_logout(sim: Simulator, client: httpx.Client) -> None:
    url = sim.url_for(dev_id("apc-nmc2"))
    r = client.get(url)
    assert r.status_code == 302
    assert r.headers["location"] == "/d/apc-nmc2-1/logon.htm"
    logon = client.get(url + "logon.htm").text
    for field in ('name="login_username"', 'name="login_password"', 'action="/d/apc-nmc2-1/Forms/login1"'):
        assert field in logon

    r = _nmc2_login(client, sim)
    assert r.status_code == 303
    home = r.headers["location"]
    assert re.fullmatch(r"/d/apc-nmc2-1/NMC/[\w-]{22}/home\.htm", home)
    page = client.get(sim.base_url + home).text
    assert 'href="rpdu/phstat.htm"' in page and "Log Off" in page

    phstat = client.get(sim.base_url + home.replace("home.htm", "rpdu/phstat.htm")).text
    assert '<span id="langEnergy">Energy</span> <span class="value">12,543.5 kWh</span>' in phstat
    assert "2.30 kW" in phstat and "230.1 V" in phstat

    # one session at a time
    busy = _nmc2_login(client, sim)
    assert busy.status_code == 200 and "Someone is currently logged in" in busy.text

    r = client.get(sim.base_url + home.replace("home.htm", "logout.htm"))
    assert r.status_code == 303
    assert client.get(sim.base_url + home).status_code == 302  # token no longer valid
    assert _nmc2_login(client, sim).status_code == 303


def test_apc_nmc2_wrong_password_and_bad_token(sim: Simulator, client: httpx.Client) -> None:
    r = _nmc2_login(client, sim, password="nope")
    assert r.status_code == 200
    assert "Invalid username or password" in r.text
    r = client.get(sim.url_for(dev_id("apc-nmc2")) + "NMC/forgedtoken/rpdu/phstat.htm")
    assert r.status_code == 302
    assert r.headers["location"] == "/d/apc-nmc2-1/logon.htm"


def test_apc_nmc2_session_expires_after_five_simulated_minutes(
    sim: Simulator, clock: SimClock, client: httpx.Client
) -> None:
    assert _nmc2_login(client, sim).status_code == 303
    clock.advance(timedelta(minutes=6))
    assert _nmc2_login(client, sim).status_code == 303


# ----- apc-nmc1 ------------------------------------------------------------------------------
def test_apc_nmc1_basic_auth(sim: Simulator, client: httpx.Client) -> None:
    url = sim.url_for(dev_id("apc-nmc1"))
    r = client.get(url + "status.htm")
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == 'Basic realm="APC Management Card"'
    assert client.get(url + "status.htm", auth=("admin", "wrong")).status_code == 401
    r = client.get(url, auth=("admin", "secret"))
    assert r.status_code == 302 and r.headers["location"] == "/d/apc-nmc1-1/status.htm"
    r = client.get(url + "status.htm", auth=("admin", "secret"))
    assert r.status_code == 200
    assert "<tr><td>Energy</td><td>12543.5</td><td>kWh</td></tr>" in r.text
    assert "<tr><td>Power</td><td>2.30</td><td>kW</td></tr>" in r.text


# ----- raritan -------------------------------------------------------------------------------
def test_raritan_page_and_json_rpc(sim: Simulator, client: httpx.Client) -> None:
    url = sim.url_for(dev_id("raritan"))
    page = client.get(url).text
    assert 'id="login-button"' in page and 'name="username"' in page and 'name="password"' in page
    assert "inlet-active-energy" in page  # built by the script

    assert client.post(url + "model/inlet/0/activeEnergy", json=GET_READING).status_code == 401
    bad = client.post(url + "model/session", json={**RPC_LOGIN, "params": {"username": "admin", "password": "x"}})
    assert bad.status_code == 401 and bad.json()["error"]["message"] == "Authentication failed"

    r = client.post(url + "model/session", json=RPC_LOGIN)
    assert r.status_code == 200
    token = r.json()["result"]["token"]
    assert f"raritan_session={token}; Path=/d/raritan-1/" in r.headers["set-cookie"]

    # the client now holds the cookie
    r = client.post(url + "model/inlet/0/activeEnergy", json=GET_READING)
    assert r.json()["id"] == 2
    assert r.json()["result"]["_ret_"]["value"] == 12543500.0
    assert r.json()["result"]["_ret_"]["valid"] is True

    with httpx.Client() as other:
        by_header = other.get(url + "model/inlet/0/activePower", headers={"X-SessionToken": token})
        assert by_header.json()["result"]["_ret_"]["value"] == 2300.0
        by_basic = other.get(url + "model/inlet/0/voltage", auth=("admin", "secret"))
        assert by_basic.json()["result"]["_ret_"]["value"] == 230.1

    bulk = {
        "jsonrpc": "2.0",
        "method": "performBulk",
        "params": {"requests": [{"rid": "/model/inlet/0/activeEnergy", "json": GET_READING}]},
        "id": 9,
    }
    r = client.post(url + "bulk", json=bulk)
    (resp,) = r.json()["result"]["_ret_"]["responses"]
    assert resp["statuscode"] == 200
    assert jsonpath("$.result._ret_.value").find(resp["json"])[0].value == 12543500.0


# ----- eaton-g4 ------------------------------------------------------------------------------
def test_eaton_g4_token_login_over_https(sim: Simulator) -> None:
    url = sim.url_for(dev_id("eaton-g4"))
    assert url.startswith("https://")
    # the certificate verifies with the CA
    with httpx.Client(verify=ssl.create_default_context(cafile=str(sim.ca_pem_path))) as client:
        assert client.get(url).status_code == 200
        assert 'id="login"' in client.get(url).text
        creds = {"username": "admin", "password": "secret", "grant_type": "password"}
        assert client.post(url + EATON_API + "oauth2/token", json={**creds, "password": "x"}).status_code == 401
        assert client.post(url + EATON_API + "oauth2/token", content=b"not json").status_code == 400
        r = client.post(url + EATON_API + "oauth2/token", json=creds)
        assert r.status_code == 200 and r.json()["token_type"] == "Bearer"
        token = r.json()["access_token"]
        inputs = url + EATON_API + "powerDistributions/1/inputs/1"
        assert client.get(inputs).status_code == 401
        assert client.get(inputs, headers={"Authorization": "Bearer nope"}).status_code == 401
        measures = client.get(inputs, headers={"Authorization": f"Bearer {token}"}).json()["measures"]
        assert measures == {
            "activeEnergy": 12543.5,
            "activePower": 2300.0,
            "voltage": 230.1,
            "current": 10.0,
            "frequency": 50.0,
        }


def test_eaton_g4_not_served_over_http_and_untrusted_cert_fails(sim: Simulator) -> None:
    with httpx.Client() as client:
        assert client.get(sim.base_url + "/d/eaton-g4-1/").status_code == 404
        with pytest.raises(httpx.ConnectError):
            client.get(sim.url_for(dev_id("eaton-g4")))
    with httpx.Client(verify=ssl.create_default_context(cafile=str(sim.ca_pem_path))) as client:
        # and plain-HTTP devices are not on the TLS listener
        assert client.get(sim.tls_base_url + "/d/plain-1/").status_code == 404


# ----- geist ---------------------------------------------------------------------------------
def test_geist_json_path(sim: Simulator, client: httpx.Client) -> None:
    url = sim.url_for(dev_id("geist"))
    data = client.get(url + "api/dev").json()
    (match,) = jsonpath("$.data.*.entity.total0.measurement['0'].value").find(data)
    assert match.value == "12543.5"
    (serial,) = data["data"]
    assert re.fullmatch(r"[0-9A-F]{16}", serial)
    assert data["data"][serial]["entity"]["total0"]["measurement"]["0"]["units"] == "kWh"
    assert 'id="total-energy"' in client.get(url).text


# ----- sentry --------------------------------------------------------------------------------
def test_sentry_login_tabs_and_inlets(sim: Simulator, client: httpx.Client) -> None:
    url = sim.url_for(dev_id("sentry"))
    r = client.get(url)
    assert r.headers["location"] == "/d/sentry-1/login.html"
    assert client.get(url + "power.html").status_code == 302
    login = client.get(url + "login.html").text
    assert 'name="username"' in login and 'name="password"' in login

    bad = client.post(url + "login.html", data={"username": "admin", "password": "x"})
    assert bad.status_code == 200 and "Invalid username or password" in bad.text

    r = client.post(url + "login.html", data={"username": "admin", "password": "secret"})
    assert r.status_code == 303 and r.headers["location"] == "/d/sentry-1/power.html"
    assert "Path=/d/sentry-1/" in r.headers["set-cookie"]
    page = client.get(url + "power.html").text
    for marker in ('id="tab-inlets"', 'id="tab-outlets"', '<select id="inlet"', 'style="display:none"'):
        assert marker in page
    assert '<span id="inlet-energy">Energy: 12,543.5 kWh</span>' in page
    ab = sim.device("sentry-1").inlet_kwh("AB")
    page_ab = client.get(url + "power.html", params={"inlet": "AB"}).text
    assert f'<span id="inlet-energy">Energy: {ab:,.1f} kWh</span>' in page_ab

    assert client.get(url).headers["location"] == "/d/sentry-1/power.html"
    client.get(url + "logout.html")
    assert client.get(url + "power.html").status_code == 302


# ----- panel-eu ------------------------------------------------------------------------------
def test_panel_eu_iframe_and_european_formats(sim: Simulator, client: httpx.Client) -> None:
    url = sim.url_for(dev_id("panel-eu"))
    assert '<iframe id="meter-frame" name="meter" src="meter.html"' in client.get(url).text
    meter = client.get(url + "meter.html").text
    assert '<div id="ea-plus">12.543,5 kWh</div>' in meter
    assert '<div id="ea-plus-spaced">12&nbsp;543,5 kWh</div>' in meter
    assert '<div id="power">2,30 kW</div>' in meter
    assert '<div id="voltage">230,1 V</div>' in meter


# ----- cookies are isolated by path ----------------------------------------------------------
def test_cookie_paths_isolate_devices(clock: SimClock, client: httpx.Client) -> None:
    from nxforge.simulator import DeviceSpec

    specs = [DeviceSpec("s1", "sentry"), DeviceSpec("s2", "sentry")]
    with Simulator(specs, clock=clock) as sim:
        r = client.post(sim.url_for("s1") + "login.html", data={"username": "admin", "password": "secret"})
        assert r.status_code == 303
        assert client.get(sim.url_for("s1") + "power.html").status_code == 200
        assert client.get(sim.url_for("s2") + "power.html").status_code == 302
