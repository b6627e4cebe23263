"""Secrets out of every log line, ours and every library's, at every level.

NxForge's own lines scrub what they know, but a library logs what it sees: httpx's INFO line
prints each request URL, with a password in its query or a device's session token in its path.
So every record is cleaned when it is made (a log record factory, which also covers handlers
added later, such as a job's captured log and pytest's), and a filter on the root handlers
cleans any record made some other way. Cleaned are: URL userinfo, query and form parameters
named like a secret, Authorization/Cookie header values, token-like URL path segments (a session
id the device put in the path) and every secret value resolved so far in this process.
"""

from __future__ import annotations

import logging
import re
import threading
import urllib.parse
from collections import OrderedDict
from collections.abc import Iterable

REDACTED = "***"
MAX_REMEMBERED = 4096  # recent values; a long-running daemon sees new device tokens all the time
MIN_SECRET_CHARS = 4  # scrubbing shorter values would shred ordinary words
QUIET_LIBRARIES = ("httpx", "httpcore", "hpack", "urllib3")

_NAME = r"[\w.-]*(?:token|session|sid|passw|pwd|secret|key|auth|cred|sig)[\w.-]*"
_PARAMETER = re.compile(rf"(?i)(?<![\w.-])({_NAME}=)([^&;#\s'\"<>]*)")
_QUOTED_FIELD = re.compile(rf"(?i)([\"']{_NAME}[\"']\s*:\s*[\"'])([^\"']*)")
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@'\"<>?#]+@")
_HEADER = re.compile(
    r"(?i)\b((?:proxy-)?authorization|set-cookie|cookie|x-[\w-]*(?:token|key|auth)[\w-]*)"
    r"(['\"]\s*[:,]\s*b?|\s*[:=]\s*)(['\"][^'\"\r\n]*|[^'\"\r\n]*)"
)
# A URL path segment that looks like a session id: long, random-looking (mixed case and digits, or hex).
_PATH_TOKEN = re.compile(
    r"(?<=/)(?:(?=[\w-]*[a-z])(?=[\w-]*[A-Z])(?=[\w-]*\d)[\w-]{16,}"
    r"|(?=[\w-]*[a-z])(?=[\w-]*[A-Z])[\w-]{20,}"  # token_urlsafe(16) has no digit about one time in 6
    r"|(?=(?:[0-9a-fA-F]-?){20,})(?=[-\w]*\d)(?=[-\w]*[a-fA-F])[0-9a-fA-F-]{24,})(?![\w.-])"
)

_lock = threading.Lock()
_remembered: OrderedDict[str, None] = OrderedDict()
_snapshot: tuple[str, ...] = ()
_installed = False
_previous_factory = logging.getLogRecordFactory()
_previous_levels: dict[str, int] = {}


def remember_secret(value: str) -> None:
    """Scrub ``value`` (and its URL encodings) from every later log line of this process."""
    remember_secrets([value])


def remember_secrets(values: Iterable[str]) -> None:
    """Scrub each of ``values`` from every later log line (the most recent MAX_REMEMBERED are kept)."""
    global _snapshot
    with _lock:
        for value in values:
            if not isinstance(value, str) or len(value) < MIN_SECRET_CHARS:
                continue
            for variant in (value, urllib.parse.quote(value, safe=""), urllib.parse.quote_plus(value)):
                _remembered[variant] = None
                _remembered.move_to_end(variant)
        while len(_remembered) > MAX_REMEMBERED:
            _remembered.popitem(last=False)
        _snapshot = tuple(sorted(_remembered, key=len, reverse=True))


def forget_secrets() -> None:
    """Drop every remembered value (tests start clean)."""
    global _snapshot
    with _lock:
        _remembered.clear()
        _snapshot = ()


def redact_text(text: str) -> str:
    """``text`` without secrets: known values, URL userinfo and path tokens, secret parameters, auth headers."""
    for value in _snapshot:
        if value in text:
            text = text.replace(value, REDACTED)
    if "://" in text:
        text = _USERINFO.sub(lambda m: f"{m.group(1)}{REDACTED}@", text)
    if "/" in text:
        text = _PATH_TOKEN.sub(REDACTED, text)
    if "=" in text:
        text = _PARAMETER.sub(lambda m: f"{m.group(1)}{REDACTED}" if m.group(2) else m.group(0), text)
    text = _QUOTED_FIELD.sub(lambda m: f"{m.group(1)}{REDACTED}" if m.group(2) else m.group(0), text)
    return _HEADER.sub(_clean_header, text)


def _clean_header(match: re.Match[str]) -> str:
    value = match.group(3)
    if not value.strip(" '\""):
        return match.group(0)
    quote = value[0] if value[:1] in ("'", '"') else ""
    return f"{match.group(1)}{match.group(2)}{quote}{REDACTED}"


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Clean one record in place: its message (arguments merged in), traceback and stack."""
    marker = getattr(record, "_nxforge_redacted", None)
    if marker is not None and marker[0] is record.msg and marker[1] is record.args:
        return record  # cleaned when made (a record rebuilt with makeLogRecord has a new msg)
    try:
        message = record.getMessage()
    except (TypeError, ValueError):  # mismatched arguments: logging reports it when the record is emitted
        message = None
    if message is not None:
        cleaned = redact_text(message)
        if cleaned != message:  # otherwise msg and args stay as they are, for formatters that read args
            record.msg, record.args = cleaned, ()
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact_text(record.exc_text)
    if record.stack_info:
        record.stack_info = redact_text(record.stack_info)
    record._nxforge_redacted = (record.msg, record.args)
    return record


class RedactingFilter(logging.Filter):
    """A handler filter that cleans each record it passes (never drops one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Clean ``record``; always True."""
        redact_record(record)
        return True


def _redacting_factory(*args: object, **kwargs: object) -> logging.LogRecord:
    return redact_record(_previous_factory(*args, **kwargs))


def attach_filter(handlers: Iterable[logging.Handler]) -> None:
    """Put the redacting filter on each handler that has none yet."""
    for handler in handlers:
        if not any(isinstance(existing, RedactingFilter) for existing in handler.filters):
            handler.addFilter(RedactingFilter())


def install_log_redaction(quiet_libraries: bool = True) -> None:
    """Clean every record of this process from now on; the root's and NxForge's handlers get the filter.

    ``quiet_libraries`` raises httpx and httpcore to WARNING: a line per request is noise at INFO
    (the collector logs a line per run), and the filter still cleans what they write.
    """
    global _installed, _previous_factory
    with _lock:
        if not _installed:
            _previous_factory = logging.getLogRecordFactory()
            logging.setLogRecordFactory(_redacting_factory)
            _installed = True
    attach_filter(logging.getLogger().handlers)
    attach_filter(logging.getLogger("nxforge").handlers)
    if quiet_libraries:
        for name in QUIET_LIBRARIES:
            logger = logging.getLogger(name)
            if logger.level < logging.WARNING:
                _previous_levels.setdefault(name, logger.level)
                logger.setLevel(logging.WARNING)


def uninstall_log_redaction() -> None:
    """Undo :func:`install_log_redaction` (for tests that must leave logging as they found it)."""
    global _installed
    with _lock:
        if _installed and logging.getLogRecordFactory() is _redacting_factory:
            logging.setLogRecordFactory(_previous_factory)
        _installed = False
    for logger in (logging.getLogger(), logging.getLogger("nxforge")):
        for handler in logger.handlers:
            for existing in [f for f in handler.filters if isinstance(f, RedactingFilter)]:
                handler.removeFilter(existing)
    for name, level in _previous_levels.items():
        logging.getLogger(name).setLevel(level)
    _previous_levels.clear()
