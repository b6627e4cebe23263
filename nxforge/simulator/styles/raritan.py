"""Raritan Xerus-like: a JavaScript app over JSON-RPC; values exist only after the XHR.

This is the style that needs a browser for its page, and the http engine for its API.
"""

from __future__ import annotations

from typing import Any

from nxforge.simulator.devices import VOLTAGE_V, DeviceRuntime
from nxforge.simulator.messages import Request, Response, json_response, not_found
from nxforge.simulator.messages import html as html_response
from nxforge.simulator.styles import formats
from nxforge.simulator.styles.base import Style, power_w, session_cookie

COOKIE = "raritan_session"
SESSION_TTL_S = 1800.0
READINGS = ("activeEnergy", "activePower", "voltage")

_APP = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>PDU - Xerus</title></head>
<body>
<h1>Power Distribution Unit</h1>
<form id="login-form">
  <label for="username">Username</label> <input type="text" id="username" name="username">
  <label for="password">Password</label> <input type="password" id="password" name="password">
  <button type="submit" id="login-button">Log in</button>
</form>
<div id="login-error"></div>
<div id="dashboard"></div>
<script>
(function () {
  function rpc(url, method, params) {
    return fetch(url, {method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify({jsonrpc: "2.0", method: method, params: params || {}, id: 1})});
  }
  function reading(resp) { return resp.json.result._ret_.value; }
  function fmtWh(v) { return (typeof v === "number") ? String(Math.round(v)) : String(v); }
  function load() {
    var reqs = ["activeEnergy", "activePower", "voltage"].map(function (r) {
      return {rid: "/model/inlet/0/" + r, json: {jsonrpc: "2.0", method: "getReading", id: 1}};
    });
    return rpc("bulk", "performBulk", {requests: reqs}).then(function (r) {
      if (r.status !== 200) { return false; }
      return r.json().then(function (data) {
        var res = data.result._ret_.responses;
        var e = reading(res[0]), p = reading(res[1]), v = reading(res[2]);
        document.getElementById("login-form").style.display = "none";
        document.getElementById("dashboard").innerHTML =
          '<table id="inlet-table">' +
          '<tr><th>Active Energy</th><td id="inlet-active-energy">' + fmtWh(e) + ' Wh</td></tr>' +
          '<tr><th>Active Power</th><td id="inlet-active-power">' + Math.round(p) + ' W</td></tr>' +
          '<tr><th>RMS Voltage</th><td id="inlet-voltage">' + v.toFixed(1) + ' V</td></tr>' +
          '</table>';
        return true;
      });
    });
  }
  function later() { return new Promise(function (ok) { setTimeout(ok, 200); }); }
  document.getElementById("login-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    rpc("model/session", "newSession", {
      username: document.getElementById("username").value,
      password: document.getElementById("password").value
    }).then(function (r) {
      if (r.status !== 200) {
        document.getElementById("login-error").textContent = "Authentication failed";
        return;
      }
      later().then(load);
    });
  });
  load();
})();
</script>
</body></html>
"""


def _error(code: int, message: str, rpc_id: Any, status: int) -> Response:
    return json_response({"jsonrpc": "2.0", "id": rpc_id, "error": {"code": code, "message": message}}, status)


class Raritan(Style):
    name = "raritan"

    def handle(self, dev: DeviceRuntime, req: Request) -> Response:
        if req.path == "":
            return html_response(_APP)
        if req.path == "model/session" and req.method == "POST":
            return self._session(dev, req)
        if req.path == "bulk" or req.path.startswith("model/inlet/0/"):
            if not self._authorized(dev, req):
                return _error(-32001, "Unauthorized", None, 401)
            if req.path == "bulk":
                return self._bulk(dev, req)
            return json_response(self._reading(dev, req.path[len("model/inlet/0/") :], self._id(req)))
        return not_found()

    @staticmethod
    def _id(req: Request) -> Any:
        body = req.json()
        return body.get("id") if isinstance(body, dict) else None

    def _authorized(self, dev: DeviceRuntime, req: Request) -> bool:
        token = req.cookies().get(COOKIE) or req.header("x-sessiontoken")
        if dev.sessions.touch(token):
            return True
        creds = req.basic_auth()
        return creds is not None and dev.check_credentials(*creds)

    def _session(self, dev: DeviceRuntime, req: Request) -> Response:
        body = req.json()
        if not isinstance(body, dict):
            return _error(-32700, "Parse error", None, 400)
        rpc_id = body.get("id")
        method = body.get("method")
        raw_params = body.get("params")
        params: dict[str, Any] = raw_params if isinstance(raw_params, dict) else {}
        if method == "closeSession":
            dev.sessions.drop(req.cookies().get(COOKIE) or req.header("x-sessiontoken"))
            return json_response({"jsonrpc": "2.0", "id": rpc_id, "result": {"_ret_": 0}})
        if method != "newSession":
            return _error(-32601, "Method not found", rpc_id, 400)
        if not dev.check_credentials(params.get("username"), params.get("password")):
            return _error(-32000, "Authentication failed", rpc_id, 401)
        token = dev.sessions.create(SESSION_TTL_S)
        return json_response(
            {"jsonrpc": "2.0", "id": rpc_id, "result": {"_ret_": 0, "token": token}},
            headers=[session_cookie(COOKIE, token, req.prefix)],
        )

    def _reading(self, dev: DeviceRuntime, what: str, rpc_id: Any) -> dict[str, Any]:
        value: float | str
        if what == "activeEnergy":
            value = dev.energy_json(lambda kwh: float(formats.wh(kwh)))
        elif what == "activePower":
            value = power_w(dev)
        elif what == "voltage":
            value = VOLTAGE_V
        else:
            return {"jsonrpc": "2.0", "id": rpc_id, "error": {"code": -32601, "message": "No such object"}}
        ret = {
            "value": value,
            "valid": isinstance(value, float),
            "available": True,
            "timestamp": int(dev.clock.now().timestamp()),
        }
        return {"jsonrpc": "2.0", "id": rpc_id, "result": {"_ret_": ret}}

    def _bulk(self, dev: DeviceRuntime, req: Request) -> Response:
        body = req.json()
        if not isinstance(body, dict):
            return _error(-32700, "Parse error", None, 400)
        raw_params = body.get("params")
        params: dict[str, Any] = raw_params if isinstance(raw_params, dict) else {}
        responses = []
        for item in params.get("requests") or []:
            rid = str(item.get("rid", "")) if isinstance(item, dict) else ""
            inner = item.get("json") if isinstance(item, dict) else None
            inner_id = inner.get("id") if isinstance(inner, dict) else None
            if rid.startswith("/model/inlet/0/"):
                responses.append(
                    {"statuscode": 200, "json": self._reading(dev, rid[len("/model/inlet/0/") :], inner_id)}
                )
            else:
                responses.append({"statuscode": 404, "json": None})
        return json_response({"jsonrpc": "2.0", "id": body.get("id"), "result": {"_ret_": {"responses": responses}}})
