"""How much NxForge reads from a device and keeps of a page, the same in both engines."""

from __future__ import annotations

MAX_BODY_BYTES = 5 * 1024 * 1024  # per response; a meter's pages are a few kB
PER_HOST_CONCURRENCY = 8  # scrapes at once per device by default: an embedded web server handles a few at best
EVIDENCE_PREFIX_CHARS = 100_000  # what the evidence keeps of a page stopped for being too big
MAX_SOURCE_CHARS = 200_000  # what is read of a page's source and written as evidence


def size_text(count: int) -> str:
    """A byte count for messages."""
    return f"{count / (1024 * 1024):.1f} MB" if count >= 1024 * 1024 else f"{count} bytes"
