"""Eaton G4-like: HTTPS only, OAuth2 password grant, Bearer token, JSON measures in kWh.

The page variant prints MWh so the unit conversion path of the scraper is exercised too.
"""

from __future__ import annotations

from nxforge.simulator.devices import VOLTAGE_V, DeviceRuntime
from nxforge.simulator.messages import Request, Response, json_response, not_found
from nxforge.simulator.messages import html as html_response
from nxforge.simulator.styles.base import Style, current_a, power_w

TOKEN_TTL_S = 900.0
API = "rest/mbdetnrs/1.0/"
TOKEN_PATH = API + "oauth2/token"
INPUT_PATH = API + "powerDistributions/1/inputs/1"

_APP = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Eaton ePDU</title></head>
<body>
<h1>Eaton ePDU</h1>
<div id="login-box">
  <label for="username">User name</label> <input type="text" id="username">
  <label for="password">Password</label> <input type="password" id="password">
  <button type="button" id="login">Log in</button>
</div>
<div id="login-error"></div>
<div id="dashboard"></div>
<script>
(function () {
  var base = "rest/mbdetnrs/1.0/";
  function show(m) {
    var e = m.activeEnergy;
    var text = (typeof e === "number") ? (e / 1000).toFixed(4) : String(e);
    document.getElementById("login-box").style.display = "none";
    document.getElementById("dashboard").innerHTML =
      '<p>Active energy: <span id="active-energy">' + text + ' MWh</span></p>' +
      '<p>Active power: <span id="active-power">' + (m.activePower / 1000).toFixed(2) + ' kW</span></p>' +
      '<p>Voltage: <span id="voltage">' + m.voltage.toFixed(1) + ' V</span></p>';
  }
  function load() {
    var token = sessionStorage.getItem("eaton_token");
    if (!token) { return; }
    fetch(base + "powerDistributions/1/inputs/1", {headers: {"Authorization": "Bearer " + token}})
      .then(function (r) {
        if (r.status !== 200) { sessionStorage.removeItem("eaton_token"); return; }
        return r.json().then(function (d) { show(d.measures); });
      });
  }
  document.getElementById("login").addEventListener("click", function () {
    fetch(base + "oauth2/token", {method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({username: document.getElementById("username").value,
                            password: document.getElementById("password").value,
                            grant_type: "password"})})
      .then(function (r) {
        if (r.status !== 200) {
          document.getElementById("login-error").textContent = "Invalid credentials";
          return;
        }
        return r.json().then(function (d) {
          sessionStorage.setItem("eaton_token", d.access_token);
          load();
        });
      });
  });
  load();
})();
</script>
</body></html>
"""


class EatonG4(Style):
    name = "eaton-g4"

    def handle(self, dev: DeviceRuntime, req: Request) -> Response:
        if req.path == "":
            return html_response(_APP)
        if req.path == TOKEN_PATH and req.method == "POST":
            return self._token(dev, req)
        if req.path == INPUT_PATH:
            if not dev.sessions.touch(req.bearer()):
                return json_response({"error": "invalid_token"}, 401, [("WWW-Authenticate", 'Bearer realm="ePDU"')])
            return json_response(
                {
                    "id": "1",
                    "name": "Input 1",
                    "measures": {
                        "activeEnergy": dev.energy_json(lambda kwh: round(kwh, 1)),
                        "activePower": power_w(dev),
                        "voltage": VOLTAGE_V,
                        "current": current_a(dev),
                        "frequency": 50.0,
                    },
                }
            )
        return not_found()

    def _token(self, dev: DeviceRuntime, req: Request) -> Response:
        body = req.json()
        if not isinstance(body, dict) or body.get("grant_type") != "password":
            return json_response({"error": "invalid_request"}, 400)
        if not dev.check_credentials(body.get("username"), body.get("password")):
            return json_response({"error": "invalid_grant", "error_description": "Invalid credentials"}, 401)
        token = dev.sessions.create(TOKEN_TTL_S)
        return json_response(
            {"access_token": token, "token_type": "Bearer", "expires_in": int(TOKEN_TTL_S), "scope": "GUIAccess"}
        )
