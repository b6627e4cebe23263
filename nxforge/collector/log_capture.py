"""Keep the log lines a job wrote, so its execution row shows what happened."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

MAX_CAPTURED_CHARS = 200_000


class _JobLogHandler(logging.Handler):
    def __init__(self, thread_name: str, logger_prefix: str) -> None:
        super().__init__(logging.INFO)
        self.thread_name = thread_name
        self.logger_prefix = logger_prefix
        self.lines: list[str] = []
        self.size = 0
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        if record.threadName != self.thread_name and not record.name.startswith(self.logger_prefix):
            return
        if self.size > MAX_CAPTURED_CHARS:
            return
        line = self.format(record)
        self.lines.append(line)
        self.size += len(line)


@contextmanager
def capture_job_log(module: str, thread_name: str) -> Iterator[list[str]]:
    """Collect records from the job's thread and from the module's logger while the block runs."""
    handler = _JobLogHandler(thread_name, f"nxforge.module.{module}")
    root = logging.getLogger()
    module_logger = logging.getLogger(f"nxforge.module.{module}")
    previous_levels = (root.level, module_logger.level)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    # The module's own lines are kept at INFO even where a quieter level is set for "nxforge".
    if module_logger.getEffectiveLevel() > logging.INFO:
        module_logger.setLevel(logging.INFO)
    root.addHandler(handler)
    try:
        yield handler.lines
    finally:
        root.removeHandler(handler)
        root.setLevel(previous_levels[0])
        module_logger.setLevel(previous_levels[1])

