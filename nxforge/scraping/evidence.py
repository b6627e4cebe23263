"""Evidence files for a person: the page source and a screenshot, with secrets scrubbed.

File names hold the endpoint key (sanitised), a UTC time stamp and a random suffix: never a
secret. Chromium writes PNGs without text chunks, so there is no metadata to leak.
"""

from __future__ import annotations

import logging
import secrets as random_tokens
from datetime import datetime
from pathlib import Path

from .context import Secrets, Snapshot
from .limits import MAX_SOURCE_CHARS
from .result import Evidence
from .session import safe_name

log = logging.getLogger(__name__)


def write_evidence(evidence_dir: Path, key: str, when: datetime, snapshot: Snapshot, secrets: Secrets) -> Evidence:
    """Write what we have of the last page; returns the paths (None for what was not captured)."""
    folder = evidence_dir / safe_name(key)
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{when.strftime('%Y%m%dT%H%M%S')}Z-{random_tokens.token_hex(3)}"
    source_path: Path | None = None
    screenshot_path: Path | None = None
    if snapshot.source or snapshot.url:
        source = snapshot.source
        if len(source) > MAX_SOURCE_CHARS:
            source = source[:MAX_SOURCE_CHARS] + f"\n<!-- truncated by NxForge at {MAX_SOURCE_CHARS} characters -->"
        header = f"<!-- NxForge evidence: {secrets.redact(snapshot.url)} at {when.isoformat()} -->\n"
        source_path = folder / f"{stem}.html"
        source_path.write_text(secrets.redact(header + source), encoding="utf-8")
    if snapshot.screenshot:
        screenshot_path = folder / f"{stem}.png"
        screenshot_path.write_bytes(snapshot.screenshot)
    log.debug("evidence for %s written to %s", key, folder)
    return Evidence(screenshot=screenshot_path, page_source=source_path)
