"""APC NMC2-like: form login, session token in the URL path, one session at a time.

The single-session rule is the point of this style: a scraper that forgets to log off locks
itself (and the ops staff) out for five minutes, exactly like the real card.
"""

from __future__ import annotations

from html import escape

from nxforge.simulator.devices import VOLTAGE_V, DeviceRuntime
from nxforge.simulator.messages import Request, Response, html, not_found, page, redirect
from nxforge.simulator.styles import formats
from nxforge.simulator.styles.base import Style

SESSION_TTL_S = 300.0


def _logon_page(prefix: str, error: str = "") -> str:
    err = f'<div id="login-error" class="error">{error}</div>\n' if error else ""
    return page(
        "Log On",
        f"<h1>APC Network Management Card</h1>\n{err}"
        f'<form name="frmLogin" id="frmLogin" method="post" action="{prefix}Forms/login1">\n'
        '<label for="login_username">User Name</label>\n'
        '<input type="text" name="login_username" id="login_username">\n'
        '<label for="login_password">Password</label>\n'
        '<input type="password" name="login_password" id="login_password">\n'
        '<input type="submit" name="submit" id="submit" value="Log On">\n'
        "</form>",
    )


_BUSY = page(
    "Session Active",
    "<h1>Session Active</h1>\n"
    '<p id="session-busy">Someone is currently logged in to the management card. '
    "Only one user can be logged in at a time; try again later.</p>",
)

_HOME = page(
    "Home",
    "<h1>Home</h1>\n<ul>\n"
    '<li><a href="rpdu/phstat.htm" id="lnkPhstat">Phase Status</a></li>\n'
    '<li><a href="logout.htm" id="lnkLogoff">Log Off</a></li>\n</ul>',
)


class ApcNmc2(Style):
    name = "apc-nmc2"

    def handle(self, dev: DeviceRuntime, req: Request) -> Response:
        prefix = req.prefix
        if req.path == "":
            return redirect(prefix + "logon.htm")
        if req.path == "logon.htm":
            return html(_logon_page(prefix))
        if req.path == "Forms/login1" and req.method == "POST":
            return self._login(dev, req)
        if req.path.startswith("NMC/"):
            token, _, rest = req.path[4:].partition("/")
            if not dev.sessions.touch(token):
                return redirect(prefix + "logon.htm")
            return self._session_page(dev, req, token, rest)
        return not_found()

    def _login(self, dev: DeviceRuntime, req: Request) -> Response:
        form = req.form()
        if not dev.check_credentials(form.get("login_username"), form.get("login_password")):
            return html(_logon_page(req.prefix, "Invalid username or password"))
        if dev.fault("session_limit") is not None or dev.sessions.active() > 0:
            return html(_BUSY)
        token = dev.sessions.create(SESSION_TTL_S)
        return redirect(f"{req.prefix}NMC/{token}/home.htm", 303)

    def _session_page(self, dev: DeviceRuntime, req: Request, token: str, rest: str) -> Response:
        if rest == "home.htm":
            return html(_HOME)
        if rest == "logout.htm":
            dev.sessions.drop(token)
            return redirect(req.prefix + "logon.htm", 303)
        if rest == "rpdu/phstat.htm":
            energy = escape(dev.energy_text(formats.comma1))
            return html(
                page(
                    "Phase Status",
                    "<h1>Phase Status</h1>\n"
                    '<div class="dataField" id="power"><span id="langPower">Power</span> '
                    f'<span class="value">{dev.spec.power_kw:.2f} kW</span></div>\n'
                    '<div class="dataField" id="energy"><span id="langEnergy">Energy</span> '
                    f'<span class="value">{energy} kWh</span></div>\n'
                    '<div class="dataField" id="voltage"><span id="langVoltage">Voltage</span> '
                    f'<span class="value">{VOLTAGE_V:.1f} V</span></div>\n'
                    '<p><a href="../home.htm">Home</a> <a href="../logout.htm">Log Off</a></p>',
                )
            )
        return not_found()
