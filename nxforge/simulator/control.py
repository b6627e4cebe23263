"""The ``/_sim/`` control API: truth, clock and faults over HTTP, for out-of-process tests.

The scraper never calls it; the demo and end-to-end tests use it to check readings against
the truth and to inject faults into a simulator started by ``nxforge sim``.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from html import escape
from typing import Any
from urllib.parse import parse_qs

from nxforge.simulator.clock import require_aware
from nxforge.simulator.messages import Response, html, json_response, page
from nxforge.simulator.view import SimulatorView


def _error(message: str, status: int) -> Response:
    return json_response({"error": message}, status)


def _body(raw: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(raw or b"{}")
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _clock_state(sim: SimulatorView) -> dict[str, Any]:
    return {"now": sim.clock.now().isoformat(), "frozen": sim.clock.frozen}


def handle(sim: SimulatorView, method: str, path: str, query: str, raw: bytes) -> Response:
    """Dispatch one control request; ``path`` starts with ``/_sim/``."""
    parts = path[len("/_sim/") :].strip("/").split("/")
    args = {k: v[0] for k, v in parse_qs(query).items()}
    head, rest = parts[0], "/".join(parts[1:])
    try:
        if head == "devices" and method == "GET":
            return json_response(sim.device_list())
        if head == "truth" and method == "GET":
            if rest not in sim.device_ids():
                return _error(f"unknown device {rest!r}", 404)
            at = require_aware(datetime.fromisoformat(args["at"])) if "at" in args else None
            return json_response(sim.truth(rest, at))
        if head == "clock":
            return _clock(sim, method, raw)
        if head == "fault":
            return _fault(sim, method, rest, raw, args)
    except ValueError as exc:
        return _error(str(exc), 400)
    return _error(f"no such control endpoint: {method} {path}", 404)


def _clock(sim: SimulatorView, method: str, raw: bytes) -> Response:
    if method == "GET":
        return json_response(_clock_state(sim))
    if method != "POST":
        return _error("use GET or POST", 405)
    body = _body(raw)
    if body is None:
        return _error("body must be a JSON object", 400)
    if "set" in body:
        sim.clock.set(require_aware(datetime.fromisoformat(str(body["set"]))))
    elif "advance_s" in body:
        sim.clock.advance(timedelta(seconds=float(body["advance_s"])))
    else:
        return _error('expected {"set": iso} or {"advance_s": seconds}', 400)
    return json_response(_clock_state(sim))


def _fault(sim: SimulatorView, method: str, device_id: str, raw: bytes, args: dict[str, str]) -> Response:
    if device_id not in sim.device_ids():
        return _error(f"unknown device {device_id!r}", 404)
    dev = sim.device(device_id)
    if method == "DELETE":
        if "fault" in args:
            dev.clear_fault(args["fault"])
        else:
            dev.clear_faults()
    elif method == "POST":
        body = _body(raw)
        if body is None or not isinstance(body.get("fault"), str):
            return _error('body must be {"fault": name, ...params}', 400)
        name = body.pop("fault")
        dev.set_fault(name, **body)
    else:
        return _error("use POST or DELETE", 405)
    return json_response({"faults": dev.faults, "events": [e.to_json() for e in dev.events]})


def index_page(sim: SimulatorView) -> Response:
    """``GET /``: a human-readable list of devices (handy when running ``nxforge sim``)."""
    rows = "\n".join(
        f'<tr><td><a href="{escape(d["url"])}">{escape(d["id"])}</a></td><td>{escape(d["style"])}</td></tr>'
        for d in sim.device_list()
    )
    return html(page("NxForge meter simulator", f"<h1>Simulated devices</h1>\n<table>\n{rows}\n</table>"))
