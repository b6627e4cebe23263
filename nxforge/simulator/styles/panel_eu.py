"""Panel meter with European number formats inside an iframe; no authentication."""

from __future__ import annotations

from html import escape

from nxforge.simulator.devices import VOLTAGE_V, DeviceRuntime
from nxforge.simulator.messages import Request, Response, html, not_found, page
from nxforge.simulator.styles import formats
from nxforge.simulator.styles.base import Style

_FRAMESET = page(
    "Energiezähler",
    '<h1>Energiezähler</h1>\n<iframe id="meter-frame" name="meter" src="meter.html" width="400" height="300"></iframe>',
)


class PanelEu(Style):
    name = "panel-eu"

    def handle(self, dev: DeviceRuntime, req: Request) -> Response:
        if req.path == "":
            return html(_FRAMESET)
        if req.path == "meter.html":
            dotted = escape(dev.energy_text(formats.eu1))
            # &nbsp; as the thousands separator, as many devices emit it
            spaced = escape(dev.energy_text(lambda v: formats.eu1(v, formats.NBSP))).replace(formats.NBSP, "&nbsp;")
            return html(
                page(
                    "Messwerte",
                    f'<div id="ea-plus">{dotted} kWh</div>\n'
                    f'<div id="power">{formats.eu2(dev.spec.power_kw)} kW</div>\n'
                    f'<div id="voltage">{formats.eu1(VOLTAGE_V)} V</div>\n'
                    f'<div id="ea-plus-spaced">{spaced} kWh</div>',
                )
            )
        return not_found()
