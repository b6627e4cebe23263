"""The simulator's Redfish face: every device also answers DMTF Redfish under ``/d/<id>/redfish/v1/``.

A rack PDU as the Redfish PowerDistribution model describes it (DSP0268, PowerDistribution,
Circuit and Outlet schemas): ``PowerEquipment/RackPDUs/1/Mains/AA`` is the inlet and
``PowerEquipment/RackPDUs/1/Outlets/<n>`` the outlets, each with an ``EnergykWh`` excerpt
holding ``Reading`` (resettable), ``LifetimeReading`` (never reset) and ``SensorResetTime``
(when ``Reading`` last restarted from 0: the reset signal). All numbers come from the device's
one counter, the outlets sharing it as on the SNMP face.

Authentication as Redfish services do it: HTTP Basic on every request, or a session created by
POST to ``SessionService/Sessions`` (token in ``X-Auth-Token``, logout by DELETE of the
session's ``Location``). ``down``, ``slow`` and the hostile faults are applied by the listener
before this face is asked; ``garbled`` and ``sentinel`` change the readings as on the web page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nxforge.simulator.messages import Request, Response, json_response
from nxforge.simulator.snmp_objects import outlet_kwh

if TYPE_CHECKING:
    from nxforge.simulator.devices import DeviceRuntime

ROOT = "redfish/v1/"
PDU = "PowerEquipment/RackPDUs/1"
SESSION_TTL_S = 1800.0


def handle(dev: DeviceRuntime, req: Request) -> Response:
    """Answer one request whose path starts with ``redfish/v1``."""
    path = req.path[len(ROOT):].strip("/") if req.path.startswith(ROOT) else ""
    base = f"{req.prefix}{ROOT}"
    if path == "":
        return json_response({"@odata.id": f"{req.prefix}redfish/v1", "RedfishVersion": "1.17.0",
                              "PowerEquipment": {"@odata.id": f"{base}PowerEquipment"},
                              "SessionService": {"@odata.id": f"{base}SessionService"}})
    if path == "SessionService/Sessions" and req.method == "POST":
        return _login(dev, req, base)
    if path.startswith("SessionService/Sessions/") and req.method == "DELETE":
        dev.sessions.drop(path.rsplit("/", 1)[-1])
        return Response(204)
    if not _authorized(dev, req):
        return _error(401, "Base.1.15.NoValidSession", "authentication required",
                      [("WWW-Authenticate", 'Basic realm="Redfish"')])
    body = _resource(dev, path, base)
    if body is None:
        return _error(404, "Base.1.15.ResourceMissingAtURI", f"no resource at {path}")
    return json_response(body)


def _login(dev: DeviceRuntime, req: Request, base: str) -> Response:
    try:
        data = req.json()
    except ValueError:
        data = None
    if not isinstance(data, dict) or not dev.check_credentials(data.get("UserName"), data.get("Password")):
        return _error(401, "Base.1.15.ResourceAtUriUnauthorized", "wrong user name or password")
    token = dev.sessions.create(SESSION_TTL_S)
    location = f"{base}SessionService/Sessions/{token}"
    return json_response({"@odata.id": location, "Id": token, "UserName": data.get("UserName")}, 201,
                         [("X-Auth-Token", token), ("Location", location)])


def _authorized(dev: DeviceRuntime, req: Request) -> bool:
    token = req.header("x-auth-token")
    if token:
        return dev.sessions.touch(token)
    creds = req.basic_auth()
    return creds is not None and dev.check_credentials(*creds)


def _resource(dev: DeviceRuntime, path: str, base: str) -> dict[str, Any] | None:
    outlets = dev.spec.outlets
    if path == "PowerEquipment":
        return {"@odata.id": base + path, "RackPDUs": {"@odata.id": f"{base}PowerEquipment/RackPDUs"}}
    if path == "PowerEquipment/RackPDUs":
        return {"@odata.id": base + path, "Members": [{"@odata.id": base + PDU}], "Members@odata.count": 1}
    if path == PDU:
        return {"@odata.id": base + path, "Id": "1", "Name": dev.spec.id, "EquipmentType": "RackPDU",
                "Mains": {"@odata.id": f"{base}{PDU}/Mains"}, "Outlets": {"@odata.id": f"{base}{PDU}/Outlets"}}
    if path == f"{PDU}/Mains":
        return {"@odata.id": base + path, "Members": [{"@odata.id": f"{base}{PDU}/Mains/AA"}]}
    if path == f"{PDU}/Mains/AA":
        return {"@odata.id": base + path, "Id": "AA", "CircuitType": "Mains", "EnergykWh": _energy(dev, 0)}
    if path == f"{PDU}/Outlets":
        return {"@odata.id": base + path, "Members@odata.count": outlets,
                "Members": [{"@odata.id": f"{base}{PDU}/Outlets/{n}"} for n in range(1, outlets + 1)]}
    prefix = f"{PDU}/Outlets/"
    if path.startswith(prefix) and path[len(prefix):].isdigit() and 1 <= int(path[len(prefix):]) <= outlets:
        outlet = int(path[len(prefix):])
        return {"@odata.id": base + path, "Id": str(outlet), "EnergykWh": _energy(dev, outlet)}
    return None


def _energy(dev: DeviceRuntime, outlet: int) -> dict[str, Any]:
    """The EnergykWh excerpt: the resettable reading, the lifetime one, and when it last restarted."""
    outlets = dev.spec.outlets

    def share(kwh: float) -> float:
        return round(outlet_kwh(kwh, outlet, outlets) if outlet else kwh, 3)

    reading = dev.energy_json(share)
    events = [event for event in dev.events if event.kind in ("reset", "swap")]
    reset_at = events[-1].at if events else dev.t0
    return {"Reading": None if reading == -1.0 else reading,
            "LifetimeReading": share(dev.spec.initial_kwh + dev.true_energy_kwh()),
            "SensorResetTime": reset_at.isoformat().replace("+00:00", "Z")}


def _error(status: int, message_id: str, message: str, headers: list[tuple[str, str]] | None = None) -> Response:
    return json_response({"error": {"code": message_id, "message": message}}, status, headers)
