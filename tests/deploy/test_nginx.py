"""deploy/nginx/nxforge.conf: nginx accepts it, and it really proxies the app over TLS, websocket included.

nginx is not a NxForge dependency (any TLS proxy will do), so without it these tests skip and say
how to install it. With it, nginx runs the shipped server blocks in front of the app started from
nxforge-app.service, with a throw-away certificate, on free ports.
"""

from __future__ import annotations

import base64
import os
import shutil
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import trustme

from nxforge.auth.proxy_cookies import MEDIA_COOKIE, MEDIA_EXPIRES_COOKIE, media_cookies
from nxforge.auth.tokens import load_secret_key
from tests.deploy.conftest import DEPLOY, Site, stop, wait_for
from tests.postgres_server import free_port

NGINX = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)
pytestmark = pytest.mark.skipif(
    NGINX is None, reason="nginx is not installed (apt-get install nginx); it is optional, not a NxForge dependency"
)


def site_config(app_port: int, http_port: int, https_port: int, cert: Path, key: Path) -> str:
    """The shipped server blocks on local ports, with a test certificate and the test app's port."""
    text = (DEPLOY / "nginx" / "nxforge.conf").read_text(encoding="utf-8")
    for old, new in [
        ("    listen [::]:80;\n", ""),
        ("    listen [::]:443 ssl http2;\n", ""),
        ("listen 80;", f"listen 127.0.0.1:{http_port};"),
        ("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;"),
        ("/etc/ssl/nxforge/fullchain.pem", str(cert)),
        ("/etc/ssl/nxforge/privkey.pem", str(key)),
        ("127.0.0.1:8501", f"127.0.0.1:{app_port}"),
        ("/etc/nginx/nxforge-media-secret.conf", str(cert.parent / "nxforge-media-secret.conf")),
    ]:
        assert old in text, f"{old!r} no longer in nxforge.conf: update this test"
        text = text.replace(old, new)
    return text


def main_config(folder: Path, site: Path) -> Path:
    """A minimal nginx.conf that includes only our site, with every path inside ``folder``."""
    temp_paths = "".join(f"  {kind}_temp_path {folder / kind};\n" for kind in ("client_body", "proxy", "fastcgi",
                                                                               "uwsgi", "scgi"))
    user = "user root;\n" if os.geteuid() == 0 else ""
    path = folder / "nginx.conf"
    path.write_text(f"{user}pid {folder / 'nginx.pid'};\nerror_log {folder / 'error.log'};\nevents {{}}\n"
                    f"http {{\n  access_log off;\n{temp_paths}  include {site};\n}}\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def proxy(app_server: tuple[int, Site], tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    folder = tmp_path_factory.mktemp("nginx")
    ca = trustme.CA()
    issued = ca.issue_cert("127.0.0.1", "nxforge.example.com")
    cert, key = folder / "fullchain.pem", folder / "privkey.pem"
    issued.private_key_pem.write_to_path(str(key))
    issued.cert_chain_pems[0].write_to_path(str(cert))
    ca_file = folder / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    http_port, https_port = free_port(), free_port()
    # The media secret, written the way the config's header says: the module run with the app's environment.
    (folder / "nxforge-media-secret.conf").write_bytes(subprocess.run(
        [sys.executable, "-m", "nxforge.auth.proxy_cookies"], env=app_server[1].environ(), capture_output=True,
        check=True, timeout=60).stdout)
    site = folder / "nxforge.conf"
    site.write_text(site_config(app_server[0], http_port, https_port, cert, key), encoding="utf-8")
    conf = main_config(folder, site)
    assert NGINX is not None
    test = subprocess.run([NGINX, "-t", "-c", str(conf), "-p", str(folder), "-e", "stderr"],
                          capture_output=True, text=True, timeout=30)
    assert test.returncode == 0, test.stderr
    process = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(folder), "-e", "stderr", "-g", "daemon off;"],
                               stderr=subprocess.PIPE)
    try:
        wait_for(f"https://127.0.0.1:{https_port}/_stcore/health", verify=ssl.create_default_context(cafile=ca_file))
        yield {"http": http_port, "https": https_port, "ca": ca_file, "data_dir": app_server[1].data_dir}
    finally:
        stop(process)


def test_plain_http_redirects_to_https(proxy: dict[str, object]) -> None:
    response = httpx.get(f"http://127.0.0.1:{proxy['http']}/live", timeout=5)
    assert response.status_code == 301
    assert response.headers["location"].startswith("https://127.0.0.1") and response.headers["location"].endswith(
        "/live")


def test_https_reaches_the_app_with_hsts(proxy: dict[str, object]) -> None:
    verify = ssl.create_default_context(cafile=str(proxy["ca"]))
    response = httpx.get(f"https://127.0.0.1:{proxy['https']}/_stcore/health", verify=verify, timeout=5)
    assert response.text == "ok"
    assert "max-age" in response.headers["strict-transport-security"]


def test_the_websocket_upgrades_through_the_proxy(proxy: dict[str, object]) -> None:
    """Streamlit's page is a websocket (/_stcore/stream): without the upgrade headers it stays blank."""
    context = ssl.create_default_context(cafile=str(proxy["ca"]))
    host = f"127.0.0.1:{proxy['https']}"
    key = base64.b64encode(os.urandom(16)).decode()
    request = (f"GET /_stcore/stream HTTP/1.1\r\nHost: {host}\r\nOrigin: https://{host}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
               "Sec-WebSocket-Protocol: streamlit\r\n\r\n")
    with socket.create_connection(("127.0.0.1", int(str(proxy["https"]))), timeout=10) as raw, \
            context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        tls.sendall(request.encode())
        status_line = tls.recv(4096).decode(errors="replace").splitlines()[0]
    assert " 101 " in status_line, status_line


def _get(
    proxy: dict[str, object], path: str, cookies: dict[str, str] | None = None, method: str = "GET"
) -> httpx.Response:
    verify = ssl.create_default_context(cafile=str(proxy["ca"]))
    with httpx.Client(verify=verify, timeout=10, cookies=cookies) as client:
        return client.request(method, f"https://127.0.0.1:{proxy['https']}{path}")


def test_streamlit_metrics_and_agent_api_are_closed(proxy: dict[str, object]) -> None:
    key = load_secret_key(Path(str(proxy["data_dir"])), environ={})
    signed_in = media_cookies(key, datetime.now(UTC) + timedelta(hours=1))
    for path in ("/_stcore/metrics", "/_stcore/agent/openapi.json"):
        for cookies in (None, signed_in):
            response = _get(proxy, path, cookies)
            assert response.status_code == 404 and "session" not in response.text, (path, response.text[:200])


def test_media_and_uploads_need_a_media_cookie_the_app_signed(proxy: dict[str, object]) -> None:
    """Streamlit would serve a leaked /media/ URL to anyone; through the proxy, only a signed-in browser."""
    key = load_secret_key(Path(str(proxy["data_dir"])), environ={})
    valid = media_cookies(key, datetime.now(UTC) + timedelta(hours=1))
    expired = media_cookies(key, datetime.now(UTC) - timedelta(seconds=5))
    forged = media_cookies(b"not the site's key" * 4, datetime.now(UTC) + timedelta(hours=1))
    stretched = {**valid, MEDIA_EXPIRES_COOKIE: str(int(valid[MEDIA_EXPIRES_COOKIE]) + 86400)}
    media = "/media/0123456789abcdef0123456789abcdef0123456789abcdef01234567.png"
    upload = "/_stcore/upload_file/some-session/some-file"
    for cookies in (None, expired, forged, stretched, {MEDIA_COOKIE: valid[MEDIA_COOKIE]}):
        for response in (_get(proxy, media, cookies), _get(proxy, upload, cookies, method="PUT")):
            assert response.status_code == 403 and "nginx" in response.text, cookies  # refused by nginx
    # With the app's cookie nginx passes the request on: Streamlit itself answers (no such file).
    passed = _get(proxy, media, valid)
    assert passed.status_code == 404 and "nginx" not in passed.text
    assert passed.headers["cache-control"] == "private, no-store"
    assert "nginx" not in _get(proxy, upload, valid, method="PUT").text  # Streamlit's own XSRF check answers
