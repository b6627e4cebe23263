"""Real receivers on 127.0.0.1 for notification tests: a webhook endpoint and an SMTP server."""

from __future__ import annotations

import json
import socket
import ssl
import threading
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class WebhookReceiver:
    """Records every JSON POST; answers ``fail_status`` to the first ``failures`` requests."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.failures = 0
        self.fail_status = 503
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if receiver.failures > 0:
                    receiver.failures -= 1
                    status = receiver.fail_status
                else:
                    receiver.bodies.append(json.loads(body))
                    receiver.headers.append(dict(self.headers))
                    status = 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Collect:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"


class SmtpReceiver:
    """aiosmtpd on a free port; with ``tls_dir`` it requires STARTTLS and AUTH (user/password)."""

    def __init__(self, tls_dir: Path | None = None, user: str = "nx", password: str = "s3cret") -> None:
        self.handler = _Collect()
        self.port = _free_port()
        self.ca_file: Path | None = None
        kwargs: dict[str, Any] = {}
        if tls_dir is not None:
            ca = trustme.CA()
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ca.issue_cert("127.0.0.1").configure_cert(context)
            self.ca_file = tls_dir / "smtp-ca.pem"
            ca.cert_pem.write_to_path(str(self.ca_file))

            def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
                wanted = (user.encode(), password.encode())
                ok = isinstance(data, LoginPassword) and (data.login, data.password) == wanted
                return AuthResult(success=ok)

            kwargs = {"tls_context": context, "require_starttls": True, "authenticator": authenticate,
                      "auth_required": True}
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **kwargs)
        self.controller.start()

    @property
    def messages(self) -> list[Message]:
        return self.handler.messages

    def stop(self) -> None:
        self.controller.stop()
