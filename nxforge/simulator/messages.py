"""Small request/response values passed between the server and the device styles.

Styles are pure functions of (device, request) -> response, so they stay free of socket code
and the server can write each response in a single ``send`` (important for throughput).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs


@dataclass
class Request:
    """One HTTP request addressed to a device; ``path`` is relative to ``prefix``."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    prefix: str  # "/d/<id>/"

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)

    def cookies(self) -> dict[str, str]:
        jar: dict[str, str] = {}
        for part in self.header("cookie").split(";"):
            name, sep, value = part.strip().partition("=")
            if sep:
                jar[name] = value
        return jar

    def form(self) -> dict[str, str]:
        """Form-urlencoded body as a flat dict (first value wins)."""
        parsed = parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        return {k: v[0] for k, v in parsed.items()}

    def json(self) -> Any:
        """Parsed JSON body, or None when the body is not valid JSON."""
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None

    def arg(self, name: str, default: str = "") -> str:
        values = self.query.get(name)
        return values[0] if values else default

    def basic_auth(self) -> tuple[str, str] | None:
        """Credentials from an ``Authorization: Basic`` header, if any."""
        scheme, _, value = self.header("authorization").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        user, sep, password = decoded.partition(":")
        return (user, password) if sep else None

    def bearer(self) -> str | None:
        scheme, _, value = self.header("authorization").partition(" ")
        return value.strip() if scheme.lower() == "bearer" and value.strip() else None


@dataclass
class Response:
    """A complete response; the server adds Content-Length and Connection headers."""

    status: int = 200
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)


def html(text: str, status: int = 200, headers: list[tuple[str, str]] | None = None) -> Response:
    return Response(status, text.encode("utf-8"), "text/html; charset=utf-8", headers or [])


def json_response(obj: Any, status: int = 200, headers: list[tuple[str, str]] | None = None) -> Response:
    body = json.dumps(obj, separators=(",", ":")).encode("utf-8")
    return Response(status, body, "application/json", headers or [])


def redirect(location: str, status: int = 302, headers: list[tuple[str, str]] | None = None) -> Response:
    return Response(status, b"", "text/plain", [("Location", location), *(headers or [])])


def not_found() -> Response:
    return html("<html><body><h1>404 Not Found</h1></body></html>", 404)


def page(title: str, body: str) -> str:
    """Wrap a body in a minimal HTML document."""
    return (
        f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{title}</title></head>\n'
        f"<body>\n{body}\n</body></html>\n"
    )
