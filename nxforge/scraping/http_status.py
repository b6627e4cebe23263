"""What an HTTP answer means for a scrape, written once for both engines.

The browser and the http engine see the same devices answer the same statuses; an operator
must read the same error class and hint whichever engine met them. Also here: the hints for
TLS, unreachable and binary answers, the redirect loop message, and which auth keeps its
session between scrapes (both engines load and save it).
"""

from __future__ import annotations

from .config import FormAuth, ScrapeConfig, TokenAuth
from .errors import ScrapeFailure
from .protocol_config import RedfishSessionAuth

CREDENTIALS_HINT = "check the username and the password secret"
TLS_HINT = "self-signed certificate? set verify_tls: false for this endpoint"
UNREACHABLE_HINT = "is the device on, and the address and port right?"
BINARY_HINT = ("check the url (a download, image or firmware link?) and that the device is the one the config is "
               "written for")


def raise_for_status(status: int, url: str, step_index: int | None) -> None:
    """Raise the failure class an operator expects for an HTTP error status (``url`` already redacted)."""
    if status < 400:
        return
    if status >= 500:
        raise ScrapeFailure("unreachable", f"{url} answered HTTP {status} (server error)",
                            hint="the device is busy or failing; retried automatically", step_index=step_index)
    if status in (401, 403):
        raise ScrapeFailure("auth_failed", f"{url} refused the credentials (HTTP {status})",
                            hint=CREDENTIALS_HINT, step_index=step_index)
    raise ScrapeFailure("step_failed", f"{url} answered HTTP {status}",
                        hint="check the url and the navigate steps", step_index=step_index)


def redirect_loop(url: str, how_many: str, last: str | None, step_index: int | None) -> ScrapeFailure:
    """The failure for a redirect loop, the same from both engines."""
    where = f" (the last hop went to {last})" if last else ""
    return ScrapeFailure(
        "step_failed", f"{url} redirected {how_many}{where}: a redirect loop, so the page was never reached",
        hint="open the url in a browser: a wrong scheme or path, a login that keeps sending you back, "
        "or cookies the device refuses are the usual causes", step_index=step_index)


def keeps_session(config: ScrapeConfig) -> bool:
    """Whether cookies (and a token) are kept for the next scrape: never when the engine logs off."""
    auth = config.auth
    if isinstance(auth, FormAuth):
        return auth.keep_session and not auth.logout_url
    if isinstance(auth, RedfishSessionAuth):
        return auth.keep_session
    return isinstance(auth, TokenAuth)
