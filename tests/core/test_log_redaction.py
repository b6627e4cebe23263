"""No log line, ours or a library's, carries a password, a device session token or an auth header.

Unit cases per class (userinfo, parameters, headers, remembered values, path tokens, records),
then a real scrape through the http engine against the simulator with DEBUG logging captured,
httpx's and httpcore's loggers included.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nxforge.log_redaction import (
    RedactingFilter,
    forget_secrets,
    install_log_redaction,
    redact_text,
    remember_secret,
    uninstall_log_redaction,
)
from nxforge.scraping import ScrapingEngine
from nxforge.secrets import SecretStore
from nxforge.simulator import DeviceSpec, Simulator
from tests.scraping.conftest import PASSWORD, SECRET_ENV, request_for

TOKEN = "0dNrBr9ZlpqjQ1KDkl3tcg"  # what a device's session id looks like (secrets.token_urlsafe(16))


@pytest.fixture
def installed() -> Iterator[None]:
    """Redaction installed for one test, then logging left as it was."""
    forget_secrets()
    install_log_redaction()
    try:
        yield
    finally:
        uninstall_log_redaction()
        forget_secrets()


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        # URL userinfo
        ("GET http://admin:hunter2@10.0.0.1/x", "hunter2"),
        ("GET https://admin@10.0.0.1/x", "admin@"),
        ("connect ftp://user:pa%40ss@host/", "pa%40ss"),
        # parameters named like a secret (query strings and form bodies)
        ("GET http://h/x?user=a&password=hunter2&page=2", "hunter2"),
        ("GET http://h/x?token=abc123xyz", "abc123xyz"),
        ("GET http://h/x?a=1&sessionid=s3ss10n", "s3ss10n"),
        ("GET http://h/x?sid=77aa88bb", "77aa88bb"),
        ("GET http://h/x?api_key=K3Y-value", "K3Y-value"),
        ("GET http://h/x?auth=Zm9vOmJhcg", "Zm9vOmJhcg"),
        ("POST login_username=admin&login_password=hunter2", "hunter2"),
        ('body {"password": "hunter2", "user": "admin"}', "hunter2"),
        # header values
        ("Authorization: Bearer eyJhbGciOi.x.y", "eyJhbGciOi"),
        ("headers {'Authorization': 'Basic YWRtaW46aHVudGVyMg==', 'Accept': '*/*'}", "YWRtaW46aHVudGVyMg"),
        ("[(b'Set-Cookie', b'sentry_sid=abc123def; Path=/'), (b'Server', b'x')]", "abc123def"),
        ("Cookie: sentry_sid=abc123def; theme=dark", "abc123def"),
        ("X-Auth-Token: t0k3n-value", "t0k3n-value"),
        ("proxy-authorization=Basic Zm9v", "Zm9v"),
        # session ids in URL paths (the device puts them there)
        (f'HTTP Request: GET http://127.0.0.1:8780/apc/NMC/{TOKEN}/rpdu/phstat.htm "HTTP/1.1 200 OK"', TOKEN),
        ("(b'Location', b'/apc/NMC/Ab3dEf6hIj9kLm2nOp/home.htm')", "Ab3dEf6hIj9kLm2nOp"),
        ("200 GET /_stcore/upload_file/3fa85f64-5717-4562-b3fc-2c963f66afa6/7 (127.0.0.1)", "3fa85f64-5717"),
        ("GET http://h/s/d41d8cd98f00b204e9800998ecf8427e/index.htm", "d41d8cd98f00b204e9800998ecf8427e"),
    ],
)
def test_each_kind_of_secret_is_scrubbed(line: str, secret: str) -> None:
    cleaned = redact_text(line)
    assert secret not in cleaned
    assert "***" in cleaned


@pytest.mark.parametrize(
    "line",
    [
        "pdu-r01-a: 12543.5 kWh read in 0.2s",
        "GET http://127.0.0.1:8780/pdu-r01-apc-nmc2-12/rpdu/phstat.htm",
        "GET http://h/redfish/v1/Chassis/System.Embedded.1/Power",
        'File "/work/main/.venv/lib/python3.11/site-packages/httpx/_client.py", line 1013',
        "authorization failed for pdu-1: check the password",
        "consumption-monitor/collect ok {'total': 16, 'ok': 16, 'failed': 0}",
        "GET http://h/x?token=&page=2",
    ],
)
def test_ordinary_lines_are_left_alone(line: str) -> None:
    assert redact_text(line) == line


def test_remembered_values_and_their_encodings_are_scrubbed(installed: None) -> None:
    remember_secret("p@ss word&more")
    for shown in ("p@ss word&more", "p%40ss%20word%26more", "p%40ss+word%26more"):
        assert redact_text(f"x {shown} y") == "x *** y"
    remember_secret("abc")  # too short to scrub without shredding ordinary words
    assert redact_text("abc") == "abc"


def test_every_record_is_cleaned_for_handlers_added_later_and_in_tracebacks(installed: None) -> None:
    remember_secret("Zq8-secret-value")
    late = io.StringIO()
    handler = logging.StreamHandler(late)  # like a job's captured log, added after installation
    logger = logging.getLogger("tests.redaction")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        logger.warning("login with %s to %s", "Zq8-secret-value", "http://u:Zq8-secret-value@h/")
        try:
            raise RuntimeError("refused: Authorization: Basic Zq8-secret-value")
        except RuntimeError:
            logger.exception("failed at %s", "http://h/x?password=Zq8-secret-value")
        logger.debug("stack", stack_info=True, extra={"note": "x"})
    finally:
        logger.removeHandler(handler)
    text = late.getvalue()
    assert "Zq8-secret-value" not in text
    assert "login with *** to http://***@h/" in text and "RuntimeError" in text


def test_root_handlers_get_the_filter_and_libraries_are_quiet(installed: None) -> None:
    root_handler = logging.StreamHandler(io.StringIO())
    logging.getLogger().addHandler(root_handler)
    try:
        install_log_redaction()  # again: idempotent, and picks up the new handler
        assert sum(isinstance(f, RedactingFilter) for f in root_handler.filters) == 1
        record = logging.makeLogRecord({"msg": "GET http://h/?token=%s", "args": ("t0ken-1234",)})
        root_handler.handle(record)  # a record made without the factory still passes the filter
        assert "t0ken-1234" not in root_handler.stream.getvalue()  # type: ignore[attr-defined]
    finally:
        logging.getLogger().removeHandler(root_handler)
    assert logging.getLogger("httpx").getEffectiveLevel() >= logging.WARNING
    assert logging.getLogger("httpcore").getEffectiveLevel() >= logging.WARNING


# --- a real scrape --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    """Form login with a path token, form login with a session cookie, basic auth, bearer token."""
    styles = ("apc-nmc2", "sentry", "apc-nmc1", "eaton-g4")
    simulator = Simulator([DeviceSpec(id=f"{style}-ok", style=style, password=PASSWORD) for style in styles]).start()
    try:
        yield simulator
    finally:
        simulator.stop()


def _issued_tokens(sim: Simulator) -> list[str]:
    """Record every session token the simulated devices hand out."""
    issued: list[str] = []
    for device_id in sim.device_ids():
        sessions = sim.device(device_id).sessions
        original = sessions.create

        def create(ttl_s: float, original: Any = original) -> str:
            token = original(ttl_s)
            issued.append(token)
            return str(token)

        sessions.create = create  # type: ignore[method-assign]
    return issued


def _scrape(sim: Simulator, state: Path) -> list[Any]:
    cases = [
        request_for(sim, "apc-nmc2-ok", key="path-token"),  # token in the URL path, logs off
        request_for(sim, "sentry-ok", key="cookie-kept"),  # session cookie, kept between runs
        request_for(sim, "sentry-ok", key="cookie-kept"),
        request_for(sim, "apc-nmc1-ok", key="basic"),  # Authorization: Basic on every request
        request_for(sim, "eaton-g4-ok", key="bearer"),  # token from a login call, Authorization: Bearer
    ]
    with ScrapingEngine(secrets=SecretStore(environ=SECRET_ENV), evidence_dir=state / "evidence",
                        state_dir=state / "state") as engine:
        results = []
        for case in cases:
            results += engine.scrape_many([case])
    assert all(result.ok for result in results), [result.error for result in results]
    return results


def test_a_real_scrape_at_debug_leaves_no_secret_in_any_log(
    sim: Simulator, tmp_path: Path, installed: None
) -> None:
    captured = io.StringIO()
    handler = logging.StreamHandler(captured)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    previous = root.level, logging.getLogger("httpx").level, logging.getLogger("httpcore").level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    # Earlier tests in the same process (the demo's quiet stop, the app's NXFORGE_LOG_LEVEL) may have set
    # our loggers' levels: let them inherit DEBUG from the root for this test, as a fresh process would.
    ours = {name: logging.getLogger(name).level for name in ("nxforge", "nxforge.scraping")}
    for name in ours:
        logging.getLogger(name).setLevel(logging.NOTSET)
    issued = _issued_tokens(sim)
    try:
        _scrape(sim, tmp_path / "quiet")  # as installed: httpx and httpcore quiet at WARNING
        quiet = captured.getvalue()
        logging.getLogger("httpx").setLevel(logging.DEBUG)  # and with every library line let through
        logging.getLogger("httpcore").setLevel(logging.DEBUG)
        _scrape(sim, tmp_path / "loud")
    finally:
        root.removeHandler(handler)
        root.setLevel(previous[0])
        logging.getLogger("httpx").setLevel(previous[1])
        logging.getLogger("httpcore").setLevel(previous[2])
        for name, level in ours.items():
            logging.getLogger(name).setLevel(level)
    text = captured.getvalue()
    loud = text[len(quiet):]
    assert "nxforge.scraping" in quiet and " httpx:" not in quiet and " httpcore" not in quiet
    assert "INFO httpx: HTTP Request: GET" in loud and "DEBUG httpcore" in loud
    assert "/NMC/***/" in loud  # the path token was there, and was scrubbed
    assert len(issued) >= 4
    secrets = [PASSWORD, *issued]
    leaks = [secret for secret in secrets if secret in text]
    assert leaks == [], [line for line in text.splitlines() if any(s in line for s in leaks)][:5]
    for header in ("Authorization", "Set-Cookie"):
        for line in text.splitlines():
            if f"{header}'" in line or f"{header}:" in line:
                assert "***" in line, line


def test_a_secret_looked_up_in_the_store_is_scrubbed_from_later_lines(installed: None, tmp_path: Path) -> None:
    secrets_file = tmp_path / "secrets.yaml"
    secrets_file.write_text("WEBHOOK_TOKEN: wh-T0ken-from-file\n", encoding="utf-8")
    store = SecretStore(secrets_file, environ={"SMTP_PASSWORD": "smtp-Pa55word"})
    assert "wh-T0ken-from-file" in redact_text("wh-T0ken-from-file")  # not yet used: nothing to scrub
    store.resolve("https://hooks.example/${WEBHOOK_TOKEN}")
    store.lookup("SMTP_PASSWORD")
    assert redact_text("POST https://hooks.example/wh-T0ken-from-file") == "POST https://hooks.example/***"
    assert redact_text("login smtp-Pa55word refused") == "login *** refused"
