"""An environmental probe with a JSON API: a list of sensors (temperature, humidity), no login."""

from __future__ import annotations

from typing import Any

from nxforge.simulator.devices import DeviceRuntime
from nxforge.simulator.messages import Request, Response, json_response, not_found, page
from nxforge.simulator.messages import html as html_response
from nxforge.simulator.styles.base import Style
from nxforge.simulator.thermal import readings, shown

_PAGE = page(
    "Environment probe",
    "<h1>Environment</h1>\n"
    '<p>Temperature: <span id="temperature"></span> · Humidity: <span id="humidity"></span></p>\n'
    "<script>\n"
    'fetch("api/sensors").then(function (r) { return r.json(); }).then(function (d) {\n'
    "  d.sensors.forEach(function (s) {\n"
    '    document.getElementById(s.type).textContent = s.value + " " + s.unit;\n'
    "  });\n"
    "});\n"
    "</script>",
)


def _value(dev: DeviceRuntime, value: float) -> float | str:
    text = shown(dev, value, lambda v: f"{v:.1f}")
    try:
        return float(text)
    except ValueError:
        return text


class EnvProbe(Style):
    name = "envprobe"

    def handle(self, dev: DeviceRuntime, req: Request) -> Response:
        if req.path == "":
            return html_response(_PAGE)
        if req.path != "api/sensors":
            return not_found()
        now = readings(dev)
        sensors: list[dict[str, Any]] = [
            {"id": 1, "type": "temperature", "label": "Temperature", "value": _value(dev, now["ambient"]), "unit": "C"},
            {"id": 2, "type": "humidity", "label": "Humidity", "value": _value(dev, now["humidity"]), "unit": "%RH"},
        ]
        return json_response({"probe": {"name": dev.spec.id, "uptime_s": 86400}, "sensors": sensors})
