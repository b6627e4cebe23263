"""The simplest page: one span with the kWh. The fast path for benchmarks."""

from __future__ import annotations

from html import escape

from nxforge.simulator.devices import DeviceRuntime
from nxforge.simulator.messages import Request, Response, html, not_found
from nxforge.simulator.styles import formats
from nxforge.simulator.styles.base import Style


class Plain(Style):
    name = "plain"

    def handle(self, dev: DeviceRuntime, req: Request) -> Response:
        if req.path == "":
            energy = escape(dev.energy_text(formats.plain1))
            return html(
                f'<html><body><span id="kwh">{energy}</span> <span id="kw">{dev.spec.power_kw:.2f}</span></body></html>'
            )
        return not_found()
