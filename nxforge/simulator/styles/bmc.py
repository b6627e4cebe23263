"""A BMC/IPMI-like web UI: HTTP Basic, and a sensor table with readings like ``23.5 degrees C``."""

from __future__ import annotations

from html import escape

from nxforge.simulator.devices import DeviceRuntime
from nxforge.simulator.messages import Request, Response, html, not_found, page, redirect
from nxforge.simulator.styles.base import Style
from nxforge.simulator.thermal import readings, shown

REALM = "BMC Web Interface"
#: (row label, reading name, non-critical, critical): the device's own status column.
SENSORS = (
    ("Inlet Temp", "inlet", 40.0, 45.0),
    ("Exhaust Temp", "exhaust", 60.0, 70.0),
    ("CPU1 Temp", "cpu", 85.0, 95.0),
)


def _status(value: float, warn: float, crit: float) -> str:
    return "cr" if value >= crit else "nc" if value >= warn else "ok"


class Bmc(Style):
    name = "bmc"

    def handle(self, dev: DeviceRuntime, req: Request) -> Response:
        creds = req.basic_auth()
        if creds is None or not dev.check_credentials(*creds):
            return html("<h1>401 Unauthorized</h1>", 401, [("WWW-Authenticate", f'Basic realm="{REALM}"')])
        if req.path == "":
            return redirect(req.prefix + "sensors.html")
        if req.path != "sensors.html":
            return not_found()
        now = readings(dev)
        rows = "\n".join(
            f'<tr class="sensor" data-name="{label}"><td class="name">{label}</td>'
            f'<td class="status">{_status(now[key], warn, crit)}</td>'
            f'<td class="reading">{escape(shown(dev, now[key], lambda v: f"{v:.1f} degrees C"))}</td></tr>'
            for label, key, warn, crit in SENSORS
        )
        body = (
            f"<h1>Server Health: {escape(dev.spec.id)}</h1>\n"
            '<table id="sensor-table">\n<tr><th>Sensor</th><th>Status</th><th>Reading</th></tr>\n'
            f"{rows}\n</table>"
        )
        return html(page("Sensor Readings", body))
