"""The interface every device style implements."""

from __future__ import annotations

from typing import ClassVar

from nxforge.simulator.devices import VOLTAGE_V, DeviceRuntime
from nxforge.simulator.messages import Request, Response


class Style:
    """Renders one vendor's web UI for a device; stateless apart from the device's sessions.

    ``handle`` gets the path relative to ``/d/<id>/`` ("" for the home page) and returns a
    full response. Faults that act on the connection (down, slow, flaky) are applied by the
    server before a style sees the request; display faults are applied through
    ``DeviceRuntime.energy_text`` / ``energy_json``.
    """

    name: ClassVar[str] = ""

    def handle(self, dev: DeviceRuntime, req: Request) -> Response:
        raise NotImplementedError


def power_w(dev: DeviceRuntime) -> float:
    return dev.spec.power_kw * 1000.0


def current_a(dev: DeviceRuntime) -> float:
    return round(power_w(dev) / VOLTAGE_V, 2)


def session_cookie(name: str, token: str, prefix: str) -> tuple[str, str]:
    """A cookie scoped to the device's path, so devices on one host:port do not share it."""
    return ("Set-Cookie", f"{name}={token}; Path={prefix}; HttpOnly; SameSite=Lax")


def expired_cookie(name: str, prefix: str) -> tuple[str, str]:
    return ("Set-Cookie", f"{name}=; Path={prefix}; Max-Age=0; HttpOnly; SameSite=Lax")
