"""Parsed endpoint files kept between collector runs, so an unchanged 1,000-endpoint YAML is not parsed every minute.

Parsing and validating the YAML of 1,000 endpoints costs the collector about as long as reading them
all (PyYAML plus pydantic). The result only depends on the file's bytes and on the code that parses
it, so it is kept under the collector's own storage keyed by both: a digest of the bytes, and the
size and time of every source file and preset that parsing reads (an upgrade parses again). The
entries are pickles the collector itself wrote in its own data folder (the same trust as its
database file); an entry that cannot be read is parsed again and replaced.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import logging
import os
import pickle
import sys
from pathlib import Path
from typing import Any

import pydantic

log = logging.getLogger(__name__)

KEEP = 8  # entries kept (one per YAML file a site has, plus a few versions)
_SOURCES = (Path(__file__).parent, Path(pydantic.__file__).parent)


def _code_version() -> str:
    """A digest of the code that turns YAML into endpoints: this module, the core's config and scraping models."""
    spec = importlib.util.find_spec("nxforge")  # the core's folder, without importing more of it
    core = Path(spec.origin).parent if spec is not None and spec.origin else Path(__file__)
    folders = [*_SOURCES, core / "config", core / "scraping", core / "scraping" / "presets"]
    digest = hashlib.sha256(sys.version.encode())
    for folder in folders:
        for path in sorted(folder.glob("*.py")) + sorted(folder.glob("*.yaml")):
            stat = path.stat()
            digest.update(f"{path}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


class ParseCache:
    """Parsed files by (bytes, code) digest in ``folder``; every failure only means parsing again."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._code = _code_version()

    def _path(self, source: Path, raw: bytes) -> Path:
        key = hashlib.sha256(f"{self._code}\n{source.resolve()}\n".encode() + raw).hexdigest()
        return self.folder / f"{key}.pickle"

    def get(self, source: Path, raw: bytes) -> Any | None:
        """What ``put`` kept for these bytes of ``source``, or None."""
        path = self._path(source, raw)
        try:
            with path.open("rb") as handle:
                return pickle.load(handle)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except Exception as exc:  # a torn or foreign entry: parse again
            log.warning("parsed YAML cache entry %s unreadable (%s): parsing again", path.name, exc)
            return None

    def put(self, source: Path, raw: bytes, parsed: Any) -> None:
        """Keep ``parsed`` for these bytes of ``source`` (written whole or not at all), dropping the oldest entries."""
        path = self._path(source, raw)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            temporary.write_bytes(pickle.dumps(parsed, protocol=pickle.HIGHEST_PROTOCOL))
            temporary.replace(path)
            entries = sorted(self.folder.glob("*.pickle"), key=lambda entry: entry.stat().st_mtime)
            for old in entries[:-KEEP]:
                old.unlink(missing_ok=True)
        except (OSError, pickle.PicklingError, TypeError, AttributeError) as exc:  # a full disk, or a value
            log.info("parsed YAML cache not written (%s)", exc)  # pickle refuses: only slower next time
            with contextlib.suppress(OSError):  # its folder may not exist
                temporary.unlink(missing_ok=True)
