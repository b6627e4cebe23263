"""ServerTech Sentry-like: form login with a cookie, tabs, and an inlet selector.

The inlet energy is in a hidden tab and the visible outlet tab also says "Energy:", so a
scraper has to click (browser) or target the right element (http), as on the real unit.
"""

from __future__ import annotations

import json
from html import escape

from nxforge.simulator.devices import DeviceRuntime, inlet_names
from nxforge.simulator.messages import Request, Response, html, not_found, page, redirect
from nxforge.simulator.styles import formats
from nxforge.simulator.styles.base import Style, expired_cookie, session_cookie

COOKIE = "sentry_sid"
SESSION_TTL_S = 1800.0
OUTLETS = 4

_SCRIPT = """<script>
(function () {
  var data = JSON.parse(document.getElementById("inlet-data").textContent);
  function tab(name) {
    ["outlets", "inlets"].forEach(function (t) {
      document.getElementById("panel-" + t).style.display = (t === name) ? "block" : "none";
      document.getElementById("tab-" + t).className = "tab" + (t === name ? " active" : "");
    });
  }
  ["outlets", "inlets"].forEach(function (t) {
    document.getElementById("tab-" + t).addEventListener("click", function (e) {
      e.preventDefault();
      tab(t);
    });
  });
  document.getElementById("inlet").addEventListener("change", function () {
    var d = data[this.value];
    document.getElementById("inlet-energy").textContent = "Energy: " + d.energy + " kWh";
    document.getElementById("inlet-power").textContent = "Power: " + d.power + " kW";
  });
})();
</script>"""


def _login_page(prefix: str, error: str = "") -> str:
    err = f'<p id="login-error" class="error">{error}</p>\n' if error else ""
    return page(
        "Sentry Login",
        f"<h1>Sentry Switched CDU</h1>\n{err}"
        f'<form id="login-form" method="post" action="{prefix}login.html">\n'
        '<label for="username">Username</label> <input type="text" name="username" id="username">\n'
        '<label for="password">Password</label> <input type="password" name="password" id="password">\n'
        '<input type="submit" id="login-submit" value="Log In">\n'
        "</form>",
    )


class Sentry(Style):
    name = "sentry"

    def handle(self, dev: DeviceRuntime, req: Request) -> Response:
        prefix = req.prefix
        token = req.cookies().get(COOKIE)
        if req.path == "":
            return redirect(prefix + ("power.html" if dev.sessions.touch(token) else "login.html"))
        if req.path == "login.html":
            if req.method != "POST":
                return html(_login_page(prefix))
            form = req.form()
            if not dev.check_credentials(form.get("username"), form.get("password")):
                return html(_login_page(prefix, "Invalid username or password"))
            new = dev.sessions.create(SESSION_TTL_S)
            return redirect(prefix + "power.html", 303, [session_cookie(COOKIE, new, prefix)])
        if req.path == "logout.html":
            dev.sessions.drop(token)
            return redirect(prefix + "login.html", 303, [expired_cookie(COOKIE, prefix)])
        if req.path == "power.html":
            if not dev.sessions.touch(token):
                return redirect(prefix + "login.html")
            return html(self._power_page(dev, req.arg("inlet", "AA")))
        return not_found()

    def _power_page(self, dev: DeviceRuntime, selected: str) -> str:
        names = inlet_names(dev.spec.inlets)
        if selected not in names:
            selected = names[0]
        power = {n: dev.spec.power_kw * (1.0 if i == 0 else 0.5) for i, n in enumerate(names)}
        energy = {n: dev.energy_text(formats.comma1, None if i == 0 else dev.inlet_kwh(n)) for i, n in enumerate(names)}
        data = {n: {"energy": energy[n], "power": f"{power[n]:.2f}"} for n in names}
        options = "".join(f'<option value="{n}"{" selected" if n == selected else ""}>{n}</option>' for n in names)
        outlet_rows = "\n".join(
            f'<tr><td>.A{k + 1}</td><td class="outlet-power">{dev.spec.power_kw / OUTLETS:.2f} kW</td>'
            f'<td class="outlet-energy">Energy: {formats.comma1(dev.true_energy_kwh() / OUTLETS + 100 * k)}'
            " kWh</td></tr>"
            for k in range(OUTLETS)
        )
        inlet_json = json.dumps(data).replace("</", "<\\/")
        return page(
            "Power",
            "<h1>Power</h1>\n"
            '<nav id="tabs"><a href="#" id="tab-outlets" class="tab active">Outlets</a> '
            '<a href="#" id="tab-inlets" class="tab">Inlets</a></nav>\n'
            f'<div id="panel-outlets" class="panel"><table id="outlets">\n{outlet_rows}\n</table></div>\n'
            '<div id="panel-inlets" class="panel" style="display:none">\n'
            f'<label for="inlet">Inlet</label> <select id="inlet" name="inlet">{options}</select>\n'
            f'<span id="inlet-energy">Energy: {escape(energy[selected])} kWh</span>\n'
            f'<span id="inlet-power">Power: {data[selected]["power"]} kW</span>\n'
            "</div>\n"
            f'<script type="application/json" id="inlet-data">{inlet_json}</script>\n'
            '<p><a href="logout.html" id="logout">Log out</a></p>\n' + _SCRIPT,
        )
