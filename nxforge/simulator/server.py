"""The HTTP(S) listeners: routing to device styles, connection-level faults, fast writes.

One listener per scheme with devices under ``/d/<id>/`` instead of one port per device: a big
fleet would exhaust ports and threads, and cookies on 127.0.0.1 ignore the port anyway, so
only path-scoped cookies (``Path=/d/<id>/``) actually isolate device sessions.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import struct
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from nxforge.simulator import control
from nxforge.simulator.messages import Request, Response, html, not_found, page, redirect
from nxforge.simulator.styles import STYLE_HANDLERS

if TYPE_CHECKING:
    from nxforge.simulator.simulator import Simulator

log = logging.getLogger(__name__)


class _Abort(Exception):
    """Raised to drop a connection without a response (the ``down`` fault)."""


class SimServer(ThreadingHTTPServer):
    """A threading server that disables Nagle and can close its open connections on stop.

    Without TCP_NODELAY a keep-alive client waits for the delayed ACK (~40 ms) on every
    request; without tracking connections, keep-alive clients would outlive ``stop()``.
    """

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], sim: Simulator, tls: ssl.SSLContext | None) -> None:
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
        if dev.has_faults():
            if dev.fault("down") is not None:
                raise _Abort
            slow = dev.fault("slow")
            if slow is not None:
                time.sleep(float(slow["delay"]))
            status = dev.flaky_status()
            if status is not None:
                return html(page(str(status), f"<h1>{status} Service Unavailable</h1>"), status)
        headers = {k.lower(): v for k, v in self.headers.items()}
        request = Request(
            self.command, rest, parse_qs(query, keep_blank_values=True), headers, body, f"/d/{device_id}/"
        )
        return STYLE_HANDLERS[dev.spec.style].handle(dev, request)

    def _send(self, response: Response) -> None:
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
        self.wfile.write(head if self.command == "HEAD" else head + response.body)

    def _drop(self) -> None:
        """Close the socket with a reset and no response, like a device that is gone."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
