"""The cookies a proxy checks before it serves Streamlit's media and uploads, and the secret it checks them with.

Streamlit serves images and downloads (``/media/...``) and takes uploads without any session
check, so a URL that leaks (a log, a history) works for anyone for as long as Streamlit keeps the
file. The shipped nginx config (deploy/nginx) therefore serves those paths only to a browser
holding ``nxforge_media`` and ``nxforge_media_expires``: nginx's ``secure_link`` checks that the
first is the MD5 of "<expires> <media secret>" (base64url) and that the time has not passed. The
app sets both beside the session cookie at sign-in, with the same expiry, and drops them at
sign-out. The media secret is derived from the site's signing key, so nobody without the key can
make one, and ``python -m nxforge.auth.proxy_cookies`` prints the nginx line that holds it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import sys
from datetime import datetime

from nxforge.auth.tokens import load_secret_key
from nxforge.environment import Environment

MEDIA_COOKIE = "nxforge_media"
MEDIA_EXPIRES_COOKIE = "nxforge_media_expires"
NGINX_VARIABLE = "nxforge_media_secret"


def media_secret(key: bytes) -> str:
    """The proxy's secret: a keyed digest of the signing key (the key itself never leaves the app)."""
    return hmac.new(key, b"nxforge proxy media secret", hashlib.sha256).hexdigest()


def media_cookies(key: bytes, expires_at: datetime) -> dict[str, str]:
    """Cookie name -> value for a browser signed in until ``expires_at``, as nginx's secure_link checks them."""
    expires = str(int(expires_at.timestamp()))
    digest = hashlib.md5(f"{expires} {media_secret(key)}".encode("ascii"), usedforsecurity=False).digest()
    return {MEDIA_COOKIE: base64.urlsafe_b64encode(digest).decode("ascii").rstrip("="), MEDIA_EXPIRES_COOKIE: expires}


def nginx_line(key: bytes) -> str:
    """The line of the file the shipped nginx config includes (/etc/nginx/nxforge-media-secret.conf)."""
    return f'set ${NGINX_VARIABLE} "{media_secret(key)}";\n'


def main() -> int:
    """Print the nginx line for this site (NXFORGE_SECRET_KEY, or the key in NXFORGE_DATA_DIR)."""
    sys.stdout.write(nginx_line(load_secret_key(Environment.from_environ().data_dir)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
