"""Geist/Vertiv-like: an unauthenticated JSON API with a deeply nested, serial-keyed shape."""

from __future__ import annotations

import hashlib

from nxforge.simulator.devices import VOLTAGE_V, DeviceRuntime
from nxforge.simulator.messages import Request, Response, json_response, not_found, page
from nxforge.simulator.messages import html as html_response
from nxforge.simulator.styles import formats
from nxforge.simulator.styles.base import Style, power_w

_PAGE = page(
    "Geist rPDU",
    "<h1>rPDU overview</h1>\n"
    '<p>Total energy: <span id="total-energy"></span></p>\n'
    "<script>\n"
    'fetch("api/dev").then(function (r) { return r.json(); }).then(function (d) {\n'
    "  var dev = d.data[Object.keys(d.data)[0]];\n"
    '  var m = dev.entity.total0.measurement["0"];\n'
    '  document.getElementById("total-energy").textContent = m.value + " " + m.units;\n'
    "});\n"
    "</script>",
)


def serial_for(device_id: str) -> str:
    """Stable 16-hex-digit serial derived from the id, like the key real units use."""
    return hashlib.sha1(device_id.encode()).hexdigest()[:16].upper()


class Geist(Style):
    name = "geist"

    def handle(self, dev: DeviceRuntime, req: Request) -> Response:
        if req.path == "":
            return html_response(_PAGE)
        if req.path == "api/dev":
            energy = dev.energy_text(formats.plain1)
            measurement = {
                "0": {"type": "energy", "value": energy, "units": "kWh"},
                "1": {"type": "realPower", "value": f"{power_w(dev):.0f}", "units": "W"},
                "2": {"type": "voltage", "value": f"{VOLTAGE_V:.1f}", "units": "V"},
            }
            return json_response(
                {
                    "retCode": 0,
                    "data": {
                        serial_for(dev.spec.id): {
                            "label": dev.spec.id,
                            "name": "rPDU",
                            "typeName": "rPDU",
                            "state": "normal",
                            "entity": {"total0": {"label": "Total", "measurement": measurement}},
                        }
                    },
                }
            )
        return not_found()
