"""The ``Simulator``: a fleet of devices behind one HTTP and one HTTPS listener, and (started on
first use) an SNMP agent and a Modbus TCP server per device, every face reading the same counter."""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from nxforge.simulator.clock import SimClock
from nxforge.simulator.devices import DeviceRuntime, DeviceSpec
from nxforge.simulator.protocol_faces import ProtocolFaces
from nxforge.simulator.server import SimServer
from nxforge.simulator.snmp_agent import SnmpCredentials
from nxforge.simulator.tls import make_server_context

log = logging.getLogger(__name__)


class Simulator:
    """Simulated meters on 127.0.0.1 with a known truth and injectable faults.

    The energy model starts at the clock's time when the simulator is constructed, so the
    truth does not depend on when ``start()`` happens to run.
    """

    def __init__(
        self,
        devices: list[DeviceSpec],
        clock: SimClock | None = None,
        host: str = "127.0.0.1",
        http_port: int = 0,
        https_port: int = 0,
        snmp_port: int = 0,
        modbus_port: int = 0,
        modbus_rtu_port: int = 0,
    ) -> None:
        self.clock = clock if clock is not None else SimClock()
        self.t0 = self.clock.now()
        self.host = host
        self._ports = (http_port, https_port)
        self._protocol_ports = (snmp_port, modbus_port, modbus_rtu_port)  # first device's, counting up; 0: any
        self._specs = list(devices)
        self._runtimes: dict[str, DeviceRuntime] = {}
        for spec in self._specs:
            if spec.id in self._runtimes:
                raise ValueError(f"duplicate device id {spec.id!r}")
            self._runtimes[spec.id] = DeviceRuntime(spec, self.clock, self.t0)
        for spec in self._specs:
            unknown = [device_id for device_id in spec.linked if device_id not in self._runtimes]
            if unknown:
                raise ValueError(f"{spec.id!r} links unknown device(s) {unknown}")
            self._runtimes[spec.id].linked = [self._runtimes[device_id] for device_id in spec.linked]
        self._servers: list[SimServer] = []
        self._threads: list[threading.Thread] = []
        self._tmpdir: Path | None = None
        self._ca_pem: Path | None = None
        self.snmp_credentials = SnmpCredentials()
        self._faces: ProtocolFaces | None = None
        self._faces_lock = threading.Lock()

    # ----- lifecycle ---------------------------------------------------------------------
    def start(self) -> Simulator:
        """Bind both listeners and serve them from background threads; idempotent."""
        if self._servers:
            return self
        self._tmpdir = Path(tempfile.mkdtemp(prefix="nxforge-sim-"))
        context, self._ca_pem = make_server_context(self.host, self._tmpdir)
        http = SimServer((self.host, self._ports[0]), self, None)
        https = SimServer((self.host, self._ports[1]), self, context)
        self._servers = [http, https]
        for server, name in ((http, "http"), (https, "https")):
            thread = threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"nxforge-sim-{name}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        log.info("simulator: %d devices on %s and %s", len(self._specs), self.base_url, self.tls_base_url)
        return self

    def stop(self) -> None:
        """Stop listening and drop open keep-alive connections."""
        with self._faces_lock:
            faces, self._faces = self._faces, None
        if faces is not None:
            faces.stop()
        for server in self._servers:
            server.shutdown()
            server.close_connections()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers, self._threads = [], []
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ----- addresses ---------------------------------------------------------------------
    def _server(self, index: int) -> SimServer:
        if not self._servers:
            raise RuntimeError("simulator not started; call start() first")
        return self._servers[index]

    @property
    def base_url(self) -> str:
        """``http://host:port`` of the plain-HTTP listener."""
        return f"http://{self.host}:{self._server(0).server_address[1]}"

    @property
    def tls_base_url(self) -> str:
        """``https://host:port`` of the HTTPS listener (certificate from ``ca_pem_path``)."""
        return f"https://{self.host}:{self._server(1).server_address[1]}"

    @property
    def ca_pem_path(self) -> Path:
        """CA certificate that signed the HTTPS listener's certificate."""
        self._server(1)
        assert self._ca_pem is not None
        return self._ca_pem

    def url_for(self, device_id: str) -> str:
        """The device's home URL on the listener its style uses."""
        spec = self.device(device_id).spec
        return f"{self.tls_base_url if spec.tls else self.base_url}/d/{device_id}/"

    def protocol_faces(self) -> ProtocolFaces:
        """The SNMP and Modbus TCP faces of every device, started on first use."""
        self._server(0)
        with self._faces_lock:
            if self._faces is None:
                self._faces = ProtocolFaces(self.host, list(self._runtimes.values()), self.snmp_credentials,
                                            *self._protocol_ports).start()
            return self._faces

    def snmp_url(self, device_id: str) -> str:
        """``snmp://host:port`` of the device's SNMP agent (v2c community or v3 user: ``snmp_credentials``)."""
        self.device(device_id)
        return f"snmp://{self.host}:{self.protocol_faces().snmp.ports[device_id]}"

    def modbus_url(self, device_id: str) -> str:
        """``modbus://host:port`` of the device's Modbus TCP server (unit id 1)."""
        self.device(device_id)
        return f"modbus://{self.host}:{self.protocol_faces().modbus.ports[device_id]}"

    def modbus_rtu(self, device_id: str) -> tuple[str, int]:
        """``modbus://host:port`` of the RTU bus (RTU frames over TCP) and the device's unit id on it.

        The first 247 devices are on the bus, as units 1 to 247 in fleet order.
        """
        self.device(device_id)
        modbus = self.protocol_faces().modbus
        if device_id not in modbus.rtu_units:
            raise KeyError(f"{device_id!r} is not on the RTU bus (only the first 247 devices are)")
        return f"modbus://{self.host}:{modbus.rtu_port}", modbus.rtu_units[device_id]

    # ----- devices and truth -------------------------------------------------------------
    def devices(self) -> list[DeviceSpec]:
        return list(self._specs)

    def device_ids(self) -> list[str]:
        return list(self._runtimes)

    def device(self, device_id: str) -> DeviceRuntime:
        """Runtime of a device, to inject faults or read its state in-process."""
        try:
            return self._runtimes[device_id]
        except KeyError:
            raise KeyError(f"unknown device {device_id!r}") from None

    def runtime_or_none(self, device_id: str) -> DeviceRuntime | None:
        return self._runtimes.get(device_id)

    def true_energy_kwh(self, device_id: str, at: datetime | None = None) -> float:
        """Energy really consumed since the start (monotonic, never resets)."""
        return self.device(device_id).true_energy_kwh(at)

    def displayed_kwh(self, device_id: str, at: datetime | None = None) -> float:
        """The device's counter after resets/rollovers/swaps (display faults ignored)."""
        return self.device(device_id).displayed_kwh(at)

    def shown_kwh(self, device_id: str) -> float | None:
        """What the page shows now: stale value, or None under garbled/sentinel."""
        return self.device(device_id).shown_kwh()

    def truth(self, device_id: str, at: datetime | None = None) -> dict[str, Any]:
        dev = self.device(device_id)
        when = at if at is not None else self.clock.now()
        return {
            "true_kwh": dev.true_energy_kwh(when),
            "displayed_kwh": dev.displayed_kwh(when),
            "shown_kwh": dev.shown_kwh() if at is None else None,
            "at": when.isoformat(),
            "events": [e.to_json() for e in dev.events],
            "faults": dev.faults,
        }

    def device_list(self) -> list[dict[str, Any]]:
        return [
            {
                "id": s.id,
                "style": s.style,
                "url": self.url_for(s.id),
                "username": s.username,
                "password": s.password,
                "power_kw": s.power_kw,
                "tls": s.tls,
            }
            for s in self._specs
        ]
