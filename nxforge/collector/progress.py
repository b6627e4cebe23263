"""Progress: a bar on a terminal, a log line every tenth under cron."""

from __future__ import annotations

import logging
import sys
from typing import TextIO

log = logging.getLogger(__name__)


class Progress:
    """A callable ``(done, total)`` for ``JobContext.progress``."""

    def __init__(self, label: str, stream: TextIO | None = None) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.interactive = self.stream.isatty()
        self._last_tenth = -1

    def __call__(self, done: int, total: int) -> None:
        if total <= 0:
            return
        if self.interactive:
            width = 30
            filled = int(width * done / total)
            self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
            if done >= total:
                self.stream.write("\n")
            self.stream.flush()
            return
        tenth = int(10 * done / total)
        if tenth != self._last_tenth:
            self._last_tenth = tenth
            log.info("%s: %d/%d", self.label, done, total)
