"""One module per imitated vendor UI; ``STYLE_HANDLERS`` maps a style name to its renderer."""

from __future__ import annotations

from nxforge.simulator.styles.apc_nmc1 import ApcNmc1
from nxforge.simulator.styles.apc_nmc2 import ApcNmc2
from nxforge.simulator.styles.base import Style
from nxforge.simulator.styles.bmc import Bmc
from nxforge.simulator.styles.eaton_g4 import EatonG4
from nxforge.simulator.styles.envprobe import EnvProbe
from nxforge.simulator.styles.geist import Geist
from nxforge.simulator.styles.panel_eu import PanelEu
from nxforge.simulator.styles.plain import Plain
from nxforge.simulator.styles.quirks import Quirks
from nxforge.simulator.styles.raritan import Raritan
from nxforge.simulator.styles.sentry import Sentry

STYLE_HANDLERS: dict[str, Style] = {
    s.name: s
    for s in (ApcNmc2(), ApcNmc1(), Raritan(), EatonG4(), Geist(), Sentry(), PanelEu(), Plain(), Bmc(), EnvProbe(),
              Quirks())
}

__all__ = ["STYLE_HANDLERS", "Style"]
