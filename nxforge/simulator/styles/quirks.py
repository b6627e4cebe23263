"""Pages a newcomer meets and the other styles do not have, one quirk per page, for the engines' tests.

* ``shadow.html``: the reading inside an open shadow root (a web component fills it in).
* ``split.html``: the reading split across ``<span>``s (integer part, decimals, unit).
* ``status.xml``: an XML document (default namespace) with the unit in an attribute, in Wh.
* ``units.html``: the unit in a ``data-unit`` attribute, in the next table cell, after the element.
* ``late.html``: a stale reading first, the fresh one when the status line says "Updated".
"""

from __future__ import annotations

from html import escape

from nxforge.simulator.devices import DeviceRuntime
from nxforge.simulator.messages import Request, Response, html, not_found, page
from nxforge.simulator.styles import formats
from nxforge.simulator.styles.base import Style, power_w

_INDEX = page(
    "Meter",
    "<h1>Meter</h1>\n<ul>\n"
    + "".join(f'<li><a href="{name}">{name}</a></li>\n'
              for name in ("shadow.html", "split.html", "status.xml", "units.html", "late.html"))
    + "</ul>",
)

_SHADOW_SCRIPT = """<script>
customElements.define('energy-card', class extends HTMLElement {
  connectedCallback() {
    const root = this.attachShadow({mode: 'open'});
    root.innerHTML = '<div class="reading"><span class="label">Total energy</span> '
      + '<span id="shadow-kwh" class="value">' + this.dataset.kwh + ' kWh</span>'
      + '<power-gauge data-kw="' + this.dataset.kw + '"></power-gauge></div>';
  }
});
customElements.define('power-gauge', class extends HTMLElement {
  connectedCallback() {
    this.attachShadow({mode: 'open'}).innerHTML = '<b id="shadow-kw">' + this.dataset.kw + ' kW</b>';
  }
});
</script>"""


def _split(text: str) -> str:
    """``12,543.5`` as ``<span class="int">12,543</span><span class="dec">.5</span>`` (a device's big/small digits)."""
    whole, dot, decimals = text.rpartition(".")
    if not dot:
        return f'<span class="int">{escape(text)}</span>'
    return f'<span class="int">{escape(whole)}</span><span class="dec">.{escape(decimals)}</span>'


class Quirks(Style):
    name = "quirks"

    def handle(self, dev: DeviceRuntime, req: Request) -> Response:
        pages = {
            "": lambda: html(_INDEX),
            "shadow.html": lambda: html(self._shadow(dev)),
            "split.html": lambda: html(self._split_page(dev)),
            "status.xml": lambda: self._xml(dev),
            "units.html": lambda: html(self._units(dev)),
            "late.html": lambda: html(self._late(dev)),
        }
        render = pages.get(req.path)
        return render() if render is not None else not_found()

    def _shadow(self, dev: DeviceRuntime) -> str:
        kwh = escape(dev.energy_text(formats.comma1), quote=True)
        return page("Energy card", f'<h1>PDU</h1>\n<energy-card id="card" data-kwh="{kwh}" '
                    f'data-kw="{dev.spec.power_kw:.2f}"></energy-card>\n{_SHADOW_SCRIPT}')

    def _split_page(self, dev: DeviceRuntime) -> str:
        energy = _split(dev.energy_text(formats.comma1))
        power = _split(f"{dev.spec.power_kw:.2f}")
        return page("Split digits",
                    f'<div class="tile"><h2>Power</h2><div class="reading" id="power">{power}'
                    '<span class="unit">kW</span></div></div>\n'
                    f'<div class="tile"><h2>Total energy</h2><div class="reading" id="energy">{energy}'
                    '<span class="unit">kWh</span></div></div>')

    def _xml(self, dev: DeviceRuntime) -> Response:
        energy = escape(dev.energy_text(formats.wh))
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
                '<meter xmlns="urn:nxforge:sim:meter" model="QX-1">\n'
                f'  <inlet id="A">\n    <power unit="W">{power_w(dev):.0f}</power>\n'
                f'    <energy unit="Wh">{energy}</energy>\n  </inlet>\n</meter>\n')
        return Response(200, body.encode("utf-8"), "application/xml; charset=utf-8")

    def _units(self, dev: DeviceRuntime) -> str:
        wh = escape(dev.energy_text(formats.wh))
        kwh = escape(dev.energy_text(formats.plain1))
        mwh = escape(dev.energy_text(formats.mwh4))
        return page("Units apart",
                    '<table id="readings">\n'
                    f'<tr><th>Active energy</th><td class="value" id="attr-wh" data-unit="Wh">{wh}</td></tr>\n'
                    f'<tr><th>Energy</th><td id="cell-kwh">{kwh}</td><td class="unit">kWh</td></tr>\n'
                    f'</table>\n<p>Total: <span id="text-mwh">{mwh}</span> MWh</p>')

    def _late(self, dev: DeviceRuntime) -> str:
        kwh = escape(dev.energy_text(formats.plain1), quote=True)
        return page("Late", '<p id="status">Loading…</p>\n<p>Energy: <span id="kwh">0.0 kWh</span></p>\n'
                    f'<script>setTimeout(() => {{ document.getElementById("kwh").textContent = "{kwh} kWh";'
                    ' document.getElementById("status").textContent = "Updated just now"; }, 700);</script>')
