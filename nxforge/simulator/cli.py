"""``nxforge sim``: run a simulated fleet until Ctrl-C."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import threading

from nxforge.simulator.clock import SimClock
from nxforge.simulator.fleet import make_fleet
from nxforge.simulator.simulator import Simulator

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nxforge sim", description="Run the meter simulator on 127.0.0.1.")
    parser.add_argument("--devices", type=int, default=16, help="number of devices (default 16)")
    parser.add_argument("--port", type=int, default=8780, help="HTTP port (default 8780, 0 = any)")
    parser.add_argument("--tls-port", type=int, default=8743, help="HTTPS port (default 8743, 0 = any)")
    parser.add_argument("--seed", type=int, default=0, help="fleet seed (default 0)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--snmp-port", type=int, default=0,
                        help="UDP port of the first device's SNMP agent, the next devices counting up (default: any)")
    parser.add_argument("--modbus-port", type=int, default=0,
                        help="TCP port of the first device's Modbus server, the next devices counting up "
                        "(default: any)")
    parser.add_argument("--modbus-rtu-port", type=int, default=0,
                        help="TCP port of the RTU bus: RTU frames over TCP, device n as unit n (default: any)")
    parser.add_argument("--kwh", type=float, default=None, help="every device's counter starts here (default: seeded)")
    parser.add_argument("--frozen", action="store_true",
                        help="the simulated clock stands still: every reading stays as it started (examples, docs)")
    return parser


def main(argv: list[str] | None = None, stop: threading.Event | None = None) -> int:
    """Start the simulator, print the devices and block until Ctrl-C (or ``stop`` is set)."""
    args = build_parser().parse_args(argv)
    if args.devices < 0:
        print("--devices must be >= 0")
        return 2
    fleet = make_fleet(args.devices, args.seed)
    if args.kwh is not None:
        fleet = [dataclasses.replace(spec, initial_kwh=args.kwh) for spec in fleet]
    sim = Simulator(fleet, clock=SimClock(frozen=args.frozen), host=args.host, http_port=args.port,
                    https_port=args.tls_port, snmp_port=args.snmp_port, modbus_port=args.modbus_port,
                    modbus_rtu_port=args.modbus_rtu_port)
    try:
        sim.start()
        sim.protocol_faces()  # SNMP and Modbus TCP now, so a port in use is said here
    except OSError as exc:
        sim.stop()
        print(f"cannot start the simulator: {exc}")
        return 1
    try:
        print(f"NxForge meter simulator: {sim.base_url}  {sim.tls_base_url}  (CA: {sim.ca_pem_path})")
        creds = sim.snmp_credentials
        print(f"SNMP: v2c community {creds.community!r}; v3 user {creds.user!r} SHA {creds.auth_password!r} "
              f"AES {creds.priv_password!r}.  Modbus TCP: unit id 1.")
        if sim.devices():
            bus, _ = sim.modbus_rtu(sim.devices()[0].id)
            print(f"Modbus RTU bus (RTU frames over TCP, framing: rtu): {bus}, device n as unit n "
                  f"(the first {min(len(sim.devices()), 247)}).")
        for spec in sim.devices():
            print(f"{spec.id:<16} {spec.style:<9} {sim.url_for(spec.id):<48} {spec.username}/{spec.password}  "
                  f"{sim.snmp_url(spec.id)}  {sim.modbus_url(spec.id)}")
        print("Control API: GET /_sim/devices, /_sim/truth/<id>; Ctrl-C to stop.", flush=True)
        waiter = stop if stop is not None else threading.Event()
        while not waiter.wait(0.5):
            pass
    except KeyboardInterrupt:
        print("stopping")
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
