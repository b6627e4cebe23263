"""What a simulated PDU answers over SNMP: its energy counter in the encodings of the vendors' MIBs.

Every device serves every vendor's objects, all computed from its one displayed counter (the one
its web page shows), so any SNMP preset can be pointed at any simulated device. OIDs and
encodings are taken from the vendors' MIB files (PowerNet-MIB, PDU2-MIB, EATON-EPDU-MIB,
Sentry4-MIB, VERTIV-V5-MIB, CPS-MIB); each device has ``spec.outlets`` metered outlets (8 by
default), outlet n of N carrying n/(1+...+N) of the device's energy, so that the outlets sum
to the device counter. Devices daisy-chained behind it (``spec.linked``) are answered too, at the
next unit indexes of the MIBs that have one (Raritan pduId 2, 3...; Eaton strapping index 1,
2...; Sentry4 unit 2, 3...), each with its own counter.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

from pysnmp.proto import rfc1902

if TYPE_CHECKING:
    from nxforge.simulator.devices import DeviceRuntime

OUTLETS = 8  # the default DeviceSpec.outlets
SYS_DESCR = (1, 3, 6, 1, 2, 1, 1, 1, 0)
SYS_NAME = (1, 3, 6, 1, 2, 1, 1, 5, 0)
SYS_UPTIME = (1, 3, 6, 1, 2, 1, 1, 3, 0)  # TimeTicks (1/100 s) since the agent started: a duration, not a date
Encoding = Literal["int32", "uint32", "gauge32", "counter64"]


@dataclass(frozen=True)
class EnergyObject:
    """One vendor's energy object: where it lives, counts per kWh, SNMP type, optional ceiling."""

    oid: Callable[[int], tuple[int, ...]]  # outlet number (0 = the whole device) -> OID
    per_kwh: int
    encoding: Encoding
    ceiling: int | None = None
    unit_arc: int | None = None  # where the OID holds the PDU's index in a chain (None: the MIB has none)

    def chained(self, outlet: int, position: int) -> tuple[int, ...] | None:
        """The OID for the PDU ``position`` places down the chain (0: this one), or None if the MIB has no index."""
        oid = self.oid(outlet)
        if position == 0:
            return oid
        if self.unit_arc is None:
            return None
        return (*oid[:self.unit_arc], oid[self.unit_arc] + position, *oid[self.unit_arc + 1:])


def _fixed(oid: tuple[int, ...]) -> Callable[[int], tuple[int, ...]]:
    return lambda _outlet: oid


def _column(prefix: tuple[int, ...], before: tuple[int, ...] = (), after: tuple[int, ...] = ()
            ) -> Callable[[int], tuple[int, ...]]:
    return lambda outlet: (*prefix, *before, outlet, *after)


APC = (1, 3, 6, 1, 4, 1, 318, 1, 1, 26)
RARITAN = (1, 3, 6, 1, 4, 1, 13742, 6, 5)
EATON = (1, 3, 6, 1, 4, 1, 534, 6, 6, 7)
SENTRY4 = (1, 3, 6, 1, 4, 1, 1718, 4, 1)
VERTIV = (1, 3, 6, 1, 4, 1, 21239, 5, 2, 3)
CYBERPOWER = (1, 3, 6, 1, 4, 1, 3808, 1, 1, 6)
GENERIC = (1, 3, 6, 1, 4, 1, 32473, 1, 1, 0)  # IANA's documentation enterprise (RFC 5612)

#: Whole-device (or inlet, input cord) energy, by the preset that reads it.
DEVICE_ENERGY: dict[str, EnergyObject] = {
    "apc-rpdu2-snmp": EnergyObject(_fixed((*APC, 4, 3, 1, 9, 1)), 10, "int32"),
    "raritan-pdu2-snmp": EnergyObject(_fixed((*RARITAN, 2, 3, 1, 4, 1, 1, 8)), 1000, "uint32", unit_arc=13),
    "eaton-epdu-snmp": EnergyObject(_fixed((*EATON, 3, 5, 1, 5, 0, 1)), 1000, "uint32", unit_arc=14),
    "sentry4-snmp": EnergyObject(_fixed((*SENTRY4, 3, 3, 1, 10, 1, 1)), 10, "int32", unit_arc=13),
    "vertiv-geist-snmp": EnergyObject(_fixed((*VERTIV, 1, 1, 12, 1)), 1000, "gauge32", ceiling=9_999_000),
    "cyberpower-epdu2-snmp": EnergyObject(_fixed((*CYBERPOWER, 3, 4, 1, 9, 1)), 10, "gauge32"),
    "snmp-counter": EnergyObject(_fixed(GENERIC), 1000, "counter64"),
}
#: Per-outlet energy columns, by the preset that reads them.
OUTLET_ENERGY: dict[str, EnergyObject] = {
    "apc-rpdu2-outlet-snmp": EnergyObject(_column((*APC, 9, 4, 3, 1, 11)), 10, "int32"),
    "raritan-pdu2-outlet-snmp": EnergyObject(_column((*RARITAN, 4, 3, 1, 4, 1), after=(8,)), 1000, "uint32",
                                             unit_arc=13),
    "eaton-epdu-outlet-snmp": EnergyObject(_column((*EATON, 6, 5, 1, 4, 0)), 1000, "uint32", unit_arc=14),
    "sentry4-outlet-snmp": EnergyObject(_column((*SENTRY4, 8, 3, 1, 14, 1, 1)), 1000, "int32", unit_arc=13),
    "vertiv-geist-outlet-snmp": EnergyObject(_column((*VERTIV, 6, 1, 15)), 1000, "gauge32", ceiling=9_999_000),
    "cyberpower-epdu2-outlet-snmp": EnergyObject(_column((*CYBERPOWER, 6, 2, 4, 1, 11)), 10, "gauge32"),
}


def outlet_kwh(device_kwh: float, outlet: int, outlets: int = OUTLETS) -> float:
    """Outlet ``outlet`` (1-based) of ``outlets``: its share n/(1+...+N), so the outlets sum to the device."""
    return device_kwh * outlet / (outlets * (outlets + 1) / 2)


def encode(kwh: float, energy: EnergyObject) -> Any:
    """``kwh`` as the vendor's register shows it: counts, ceiling or wrap, SNMP type."""
    counts = round(kwh * energy.per_kwh)
    if energy.ceiling is not None:
        counts = min(counts, energy.ceiling)
    if energy.encoding == "int32":
        return rfc1902.Integer32(counts % 2**31)
    if energy.encoding == "uint32":
        return rfc1902.Unsigned32(counts % 2**32)
    if energy.encoding == "gauge32":
        return rfc1902.Gauge32(counts % 2**32)
    return rfc1902.Counter64(counts % 2**64)


def device_objects(runtime: DeviceRuntime) -> dict[tuple[int, ...], Any]:
    """Every object a device serves, by OID, with the display faults applied.

    ``garbled`` answers text in place of every counter; ``sentinel`` answers -1 where the MIB
    allows it (signed counters) and drops the others (a vanished object); ``vanished_outlet``
    drops one outlet's objects.
    """
    objects: dict[tuple[int, ...], Any] = {
        SYS_DESCR: rfc1902.OctetString(f"NxForge simulator {runtime.spec.style} PDU"),
        SYS_NAME: rfc1902.OctetString(runtime.spec.id),
        SYS_UPTIME: rfc1902.TimeTicks(max(0, int((runtime.clock.now() - runtime.t0).total_seconds() * 100)) % 2**32),
    }
    for position, unit in enumerate([runtime, *runtime.linked]):
        _place(objects, unit, position)
        objects.update(_reset_times(unit, position))
    return objects


def _reset_times(runtime: DeviceRuntime, position: int) -> dict[tuple[int, ...], Any]:
    """When the counters last restarted, where the MIBs say: Eaton's Unix seconds (0: never, the input and
    every outlet: EATON-EPDU-MIB inputTotalWhTimer, outletWhTimer) and APC's local wall-clock start time
    (PowerNet-MIB rPDU2DeviceStatusEnergyStartTime, in the card's zone, the meter's start if never reset)."""
    restarted = runtime.counter_restarted_at()
    unix = rfc1902.Counter32(int(restarted.timestamp()) if restarted else 0)
    eaton = [(*EATON, 3, 5, 1, 6, position, 1)]
    eaton += [(*EATON, 6, 5, 1, 5, position, n) for n in range(1, runtime.spec.outlets + 1)]
    found: dict[tuple[int, ...], Any] = dict.fromkeys(eaton, unix)
    if position == 0:  # APC's table has no index for a chained PDU
        local = (restarted or runtime.t0).astimezone(ZoneInfo(runtime.spec.clock_zone))
        found[(*APC, 4, 3, 1, 10, 1)] = rfc1902.OctetString(local.strftime("%m/%d/%Y %H:%M:%S"))
    return found


def _place(objects: dict[tuple[int, ...], Any], runtime: DeviceRuntime, position: int) -> None:
    """The energy objects of ``runtime``, ``position`` places down the chain, into ``objects``."""
    spec = runtime.spec
    garbled = runtime.fault("garbled")
    vanished = runtime.fault("vanished_outlet")
    gone = int(vanished["outlet"]) if vanished is not None else None
    kwh = runtime.shown_kwh()
    placed = [(energy.chained(0, position), energy, 0) for energy in DEVICE_ENERGY.values()]
    placed += [(energy.chained(n, position), energy, n) for energy in OUTLET_ENERGY.values()
               for n in range(1, spec.outlets + 1) if n != gone]
    for oid, energy, outlet in placed:
        if oid is None:
            continue
        if garbled is not None:
            objects[oid] = rfc1902.OctetString(str(garbled["text"]))
        elif kwh is None:
            if energy.encoding == "int32":
                objects[oid] = rfc1902.Integer32(-1)
        else:
            objects[oid] = encode(outlet_kwh(kwh, outlet, spec.outlets) if outlet else kwh, energy)
