"""Legacy APC card: HTTP Basic on every URL, values in a plain table with the unit apart."""

from __future__ import annotations

from html import escape

from nxforge.simulator.devices import VOLTAGE_V, DeviceRuntime
from nxforge.simulator.messages import Request, Response, html, not_found, page, redirect
from nxforge.simulator.styles import formats
from nxforge.simulator.styles.base import Style

REALM = "APC Management Card"


class ApcNmc1(Style):
    name = "apc-nmc1"

    def handle(self, dev: DeviceRuntime, req: Request) -> Response:
        creds = req.basic_auth()
        if creds is None or not dev.check_credentials(*creds):
            return html(
                page("401 Unauthorized", "<h1>401 Unauthorized</h1>"),
                401,
                [("WWW-Authenticate", f'Basic realm="{REALM}"')],
            )
        if req.path == "":
            return redirect(req.prefix + "status.htm")
        if req.path == "status.htm":
            energy = escape(dev.energy_text(formats.plain1))
            return html(
                page(
                    "Status",
                    '<h1>Rack PDU Status</h1>\n<table id="status">\n'
                    f"<tr><td>Power</td><td>{dev.spec.power_kw:.2f}</td><td>kW</td></tr>\n"
                    f"<tr><td>Energy</td><td>{energy}</td><td>kWh</td></tr>\n"
                    f"<tr><td>Voltage</td><td>{VOLTAGE_V:.1f}</td><td>V</td></tr>\n"
                    "</table>",
                )
            )
        return not_found()
