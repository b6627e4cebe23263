"""A throw-away certificate authority for the HTTPS listener.

Real meters use self-signed certificates; scrapers must be configured to skip verification
(or to trust a given CA). ``trustme`` gives us such a certificate without touching the system
trust store, and its CA file lets tests also check the verified path.
"""

from __future__ import annotations

import ssl
from pathlib import Path

import trustme


def make_server_context(host: str, ca_dir: Path) -> tuple[ssl.SSLContext, Path]:
    """Return a server SSL context for ``host`` and the path of the CA certificate (PEM)."""
    ca = trustme.CA(organization_name="NxForge meter simulator")
    names = sorted({host, "127.0.0.1", "localhost"})
    cert = ca.issue_cert(*names)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(context)
    ca_path = ca_dir / "nxforge-sim-ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    return context, ca_path
