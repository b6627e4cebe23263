"""The simulator's Redfish face: every device also answers DMTF Redfish under ``/d/<id>/redfish/v1/``.

A rack PDU as the Redfish PowerDistribution model describes it (DSP0268, PowerDistribution,
Circuit and Outlet schemas): ``PowerEquipment/RackPDUs/1/Mains/AA`` is the inlet and
``PowerEquipment/RackPDUs/1/Outlets/<n>`` the outlets, each with an ``EnergykWh`` excerpt
holding ``Reading`` (resettable), ``LifetimeReading`` (never reset) and ``SensorResetTime``
(when ``Reading`` last restarted from 0: the reset signal). All numbers come from the device's
one counter, the outlets sharing it as on the SNMP face.

Authentication as Redfish services do it (DSP0266, "Authentication" and "Session management"):
HTTP Basic on every request, or a session created by POST of ``{"UserName", "Password"}`` to
``SessionService/Sessions``: 201 with the token in ``X-Auth-Token`` and the session in
``Location`` (``.../Sessions/<Id>``, the Id is not the token); every later request sends the
token, and DELETE of the ``Location`` logs out. A device with ``redfish_sessions_only`` refuses
Basic (401 without a valid token); at most ``redfish_max_sessions`` sessions are open at once,
one more login gets 503 ``SessionLimitExceeded`` (as OpenBMC and most PDUs answer). Sessions are
the device's ``redfish_sessions``, apart from its web logins. ``down``, ``slow`` and the hostile
faults are applied by the listener before this face is asked; ``garbled`` and ``sentinel``
change the readings as on the web page.
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
    if not _authorized(dev, req):
        challenge = [] if dev.spec.redfish_sessions_only else [("WWW-Authenticate", 'Basic realm="Redfish"')]
        return _error(401, "Base.1.15.NoValidSession", "authentication required", challenge)
    if path.startswith("SessionService/Sessions/") and req.method == "DELETE":
        if not dev.redfish_sessions.drop_id(path.rsplit("/", 1)[-1]):
            return _error(404, "Base.1.15.ResourceMissingAtURI", f"no session at {path}")
        return Response(204)
    body = _resource(dev, path, base) if req.method == "GET" else None
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
    opened = dev.redfish_sessions.open(SESSION_TTL_S, dev.spec.redfish_max_sessions)
    if opened is None:
        return _error(503, "Base.1.15.SessionLimitExceeded",
                      f"the limit of {dev.spec.redfish_max_sessions} simultaneous sessions is reached")
    session_id, token = opened
    location = f"{base}SessionService/Sessions/{session_id}"
    return json_response({"@odata.id": location, "Id": session_id, "UserName": data.get("UserName")}, 201,
                         [("X-Auth-Token", token), ("Location", location)])


def _authorized(dev: DeviceRuntime, req: Request) -> bool:
    token = req.header("x-auth-token")
    if token:
        return dev.redfish_sessions.touch(token)
    if dev.spec.redfish_sessions_only:
        return False
    creds = req.basic_auth()
    return creds is not None and dev.check_credentials(*creds)


def _resource(dev: DeviceRuntime, path: str, base: str) -> dict[str, Any] | None:
    outlets = dev.spec.outlets
    if path == "SessionService":
        return {"@odata.id": base + path, "ServiceEnabled": True, "SessionTimeout": int(SESSION_TTL_S),
                "Sessions": {"@odata.id": f"{base}SessionService/Sessions"}}
    if path == "SessionService/Sessions":
        ids = dev.redfish_sessions.ids()
        return {"@odata.id": base + path, "Members@odata.count": len(ids),
                "Members": [{"@odata.id": f"{base}{path}/{session_id}"} for session_id in ids]}
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
    reset_at = dev.counter_restarted_at() or dev.t0
    return {"Reading": None if reading == -1.0 else reading,
            "LifetimeReading": share(dev.spec.initial_kwh + dev.true_energy_kwh()),
            "SensorResetTime": reset_at.isoformat().replace("+00:00", "Z")}


def _error(status: int, message_id: str, message: str, headers: list[tuple[str, str]] | None = None) -> Response:
    return json_response({"error": {"code": message_id, "message": message}}, status, headers)
