"""The HTTP(S) listeners: routing to device styles, connection-level faults, fast writes.

One listener per scheme with devices under ``/d/<id>/`` instead of one port per device: a big
fleet would exhaust ports and threads, and cookies on 127.0.0.1 ignore the port anyway, so
only path-scoped cookies (``Path=/d/<id>/``) actually isolate device sessions.
"""

from __future__ import annotations

import contextlib
import logging
import random
import socket
import ssl
import struct
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from nxforge.simulator import control, redfish
from nxforge.simulator.devices import HOSTILE_FAULTS, DeviceRuntime
from nxforge.simulator.messages import Request, Response, html, not_found, page, redirect
from nxforge.simulator.styles import STYLE_HANDLERS
from nxforge.simulator.view import SimulatorView

log = logging.getLogger(__name__)


class _Abort(Exception):
    """Raised to drop a connection without a response (the ``down`` fault)."""


class _Hostile(Exception):
    """Raised to take the connection over for a hostile fault (blackhole, slowloris, huge, endless)."""

    def __init__(self, kind: str, params: dict[str, Any], dev: DeviceRuntime, request: Request) -> None:
        super().__init__(kind)
        self.kind = kind
        self.params = params
        self.dev = dev
        self.request = request


CHUNK = 64 * 1024
#: What a hostile page is padded with: harmless markup that parses (and costs) like real HTML.
FILLER = ("<p class=\"pad\">" + "lorem ipsum dolor sit amet " * 40 + "</p>\n").encode()
FILLER_CHUNK = FILLER * (CHUNK // len(FILLER) + 1)
#: A binary body starts like a PNG (NUL bytes early, as in any real binary file).
PNG_MAGIC = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"


class SimServer(ThreadingHTTPServer):
    """A threading server that disables Nagle and can close its open connections on stop.

    Without TCP_NODELAY a keep-alive client waits for the delayed ACK (~40 ms) on every
    request; without tracking connections, keep-alive clients would outlive ``stop()``.
    """

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], sim: SimulatorView, tls: ssl.SSLContext | None) -> None:
        self.sim = sim
        self.tls = tls
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        super().__init__(address, _Handler)

    def get_request(self) -> tuple[Any, Any]:
        sock, addr = super().get_request()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock, addr

    def finish_request(self, request: Any, client_address: Any) -> None:
        conn = request
        if self.tls is not None:
            try:
                conn = self.tls.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError) as exc:
                log.debug("TLS handshake with %s failed: %s", client_address, exc)
                request.close()
                return
        with self._conns_lock:
            self._conns.add(conn)
        try:
            super().finish_request(conn, client_address)
        finally:
            with self._conns_lock:
                self._conns.discard(conn)
            if conn is not request:
                conn.close()

    def close_connections(self) -> None:
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("error while serving %s", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    """Parses a request, applies connection faults and hands it to the device's style."""

    protocol_version = "HTTP/1.1"
    server_version = "nxforge-sim"
    timeout = 120  # idle keep-alive connections are closed after this
    server: SimServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: logging every request would cost more than serving it."""

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_DELETE = do_HEAD = do_GET

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        path, _, query = self.path.partition("?")
        try:
            response = self._route(path, query, body)
        except _Abort:
            self._drop()
            return
        except _Hostile as hostile:
            self.close_connection = True
            with contextlib.suppress(OSError):  # the client gave up, as it should
                self._hostile(hostile)
            return
        except Exception:
            log.exception("simulator failed on %s %s", self.command, self.path)
            response = html(page("500", "<h1>500 Internal Server Error</h1>"), 500)
        self._send(response)

    def _route(self, path: str, query: str, body: bytes) -> Response:
        sim = self.server.sim
        if path.startswith("/_sim/"):
            return control.handle(sim, self.command, path, query, body)
        if path == "/":
            return control.index_page(sim)
        if not path.startswith("/d/"):
            return not_found()
        device_id, slash, rest = path[3:].partition("/")
        dev = sim.runtime_or_none(device_id)
        if dev is None or dev.spec.tls != (self.server.tls is not None):
            return not_found()
        if not slash:
            return redirect(f"/d/{device_id}/", 301)
        headers = {k.lower(): v for k, v in self.headers.items()}
        request = Request(
            self.command, rest, parse_qs(query, keep_blank_values=True), headers, body, f"/d/{device_id}/"
        )
        if dev.has_faults():
            if dev.fault("down") is not None:
                raise _Abort
            for kind in HOSTILE_FAULTS:
                params = dev.fault(kind)
                if params is not None:
                    raise _Hostile(kind, params, dev, request)
            slow = dev.fault("slow")
            if slow is not None:
                time.sleep(float(slow["delay"]))
            status = dev.flaky_status()
            if status is not None:
                return html(page(str(status), f"<h1>{status} Service Unavailable</h1>"), status)
            loop = dev.fault("endless_redirect")
            if loop is not None:
                # A new URL every time, so a client cannot spot the loop by seeing one URL twice.
                hop = int(rest.rsplit("/", 1)[-1]) + 1 if rest.startswith("loop/") else 1
                return redirect(f"/d/{device_id}/loop/{hop}", int(loop["status"]))
            binary = dev.fault("binary")
            if binary is not None:
                return Response(200, _binary_body(device_id, int(binary["size"])), str(binary["content_type"]))
        if rest == "redfish/v1" or rest.startswith("redfish/v1/"):
            return redfish.handle(dev, request)  # every device also speaks Redfish, whatever its style
        return STYLE_HANDLERS[dev.spec.style].handle(dev, request)

    # ----- hostile faults: each takes the connection over and ends it --------------------------
    def _hostile(self, hostile: _Hostile) -> None:
        params = hostile.params
        if hostile.kind == "blackhole":
            self._blackhole(float(params["max_s"]))
        elif hostile.kind == "slowloris":
            response = STYLE_HANDLERS[hostile.dev.spec.style].handle(hostile.dev, hostile.request)
            self._slowloris(response, float(params["interval"]), str(params["phase"]))
        elif hostile.kind == "huge":
            self._stream(int(float(params["mb"]) * 1024 * 1024), None)
        else:  # endless
            self._stream(None, float(params["max_s"]))

    def _blackhole(self, max_s: float) -> None:
        """Keep the connection open and say nothing until the client (or ``stop()``) hangs up."""
        deadline = time.monotonic() + max_s
        self.connection.settimeout(min(1.0, max_s))
        while time.monotonic() < deadline:
            try:
                if not self.connection.recv(1024):
                    return  # the client closed
            except TimeoutError:
                continue

    def _slowloris(self, response: Response, interval: float, phase: str) -> None:
        """Send a real response one byte per ``interval`` seconds (from the head, or the body)."""
        head, body = self._encode(response)
        if phase == "body":
            self.connection.sendall(head)
            trickled = body
        else:
            trickled = head + body
        for index in range(len(trickled)):
            self.connection.sendall(trickled[index : index + 1])
            time.sleep(interval)

    def _stream(self, length: int | None, max_s: float | None) -> None:
        """An HTML page of ``length`` bytes (with Content-Length), or with no length, never ending."""
        lines = ["HTTP/1.1 200 OK", "Content-Type: text/html; charset=utf-8", "Cache-Control: no-store"]
        lines.append(f"Content-Length: {length}" if length is not None else "Connection: close")
        start = b"<!DOCTYPE html>\n<html><head><title>Status</title></head><body>\n"
        self.connection.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + start)
        if self.command == "HEAD":
            return
        sent = len(start)
        deadline = time.monotonic() + max_s if max_s is not None else None
        while length is None or sent < length:
            chunk = FILLER_CHUNK if length is None else FILLER_CHUNK[: min(CHUNK, length - sent)]
            self.connection.sendall(chunk)
            sent += len(chunk)
            if deadline is not None and time.monotonic() > deadline:
                return

    def _send(self, response: Response) -> None:
        head, body = self._encode(response)
        self.wfile.write(head if self.command == "HEAD" else head + body)

    def _encode(self, response: Response) -> tuple[bytes, bytes]:
        """The response's head (status line and headers) and body, as bytes."""
        try:
            phrase = HTTPStatus(response.status).phrase
        except ValueError:
            phrase = "Status"
        lines = [
            f"HTTP/1.1 {response.status} {phrase}",
            f"Content-Type: {response.content_type}",
            f"Content-Length: {len(response.body)}",
            "Cache-Control: no-store",
        ]
        lines.extend(f"{name}: {value}" for name, value in response.headers)
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        return head, response.body

    def _drop(self) -> None:
        """Close the socket with a reset and no response, like a device that is gone."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def _binary_body(seed: str, size: int) -> bytes:
    """Deterministic bytes that look like a binary file (a PNG header, then noise)."""
    noise = random.Random(seed).randbytes(max(0, size - len(PNG_MAGIC)))
    return (PNG_MAGIC + noise)[:size]
