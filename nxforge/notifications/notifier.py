"""The ``Notifier``: one background thread that drains the outbox, with retries and backoff.

Why a worker thread over a durable outbox rather than sending inline: the collector emits
alerts from inside a job, and an SMTP server that hangs for 10 s, times three retries with
backoff, would stall every meter behind it. Queuing is a local INSERT in the emitter's thread;
the network happens here. The queue is the database table (bounded by ``max_pending``), not an
in-memory list, so a ``--once`` run that exits before a retry is due leaves the delivery for
the next run instead of losing it, and two collectors never send the same row twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine

from nxforge.db.types import utcnow
from nxforge.metrics import NOTIFICATION_FAILURES
from nxforge.notifications import outbox
from nxforge.notifications.channels import Channel, DeliveryError
from nxforge.notifications.config import RetryPolicy
from nxforge.notifications.message import Notification

log = logging.getLogger(__name__)

GaveUp = Callable[[outbox.Delivery, str], None]


class Notifier:
    """Delivers queued notifications to their channels from a daemon thread; thread-safe."""

    def __init__(
        self,
        engine: Engine,
        channels: dict[str, Channel],
        retry: RetryPolicy,
        *,
        max_pending: int = 1000,
        poll_s: float = 30.0,
        lease_s: float = 300.0,
        on_idle: Callable[[], Any] | None = None,
        on_gave_up: GaveUp | None = None,
    ) -> None:
        self._engine = engine
        self.channels = channels
        self._retry = retry
        self._max_pending = max_pending
        self._poll_s = poll_s
        self._lease_s = lease_s
        self._on_idle = on_idle
        self._on_gave_up = on_gave_up
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._last_idle = 0.0

    # -- queueing (called from the emitter's thread) ------------------------------------------

    def enqueue(self, conn: Connection, notification: Notification, channel_names: list[str]) -> int:
        """Queue in the caller's transaction; call ``wake()`` after it commits."""
        return outbox.enqueue(conn, notification, channel_names, utcnow(), self._max_pending)

    def wake(self) -> None:
        """Tell the worker there is something to send now."""
        self._wake.set()

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        """Start the worker (idempotent); it first sends what earlier runs left behind."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="nxforge-notifier", daemon=True)
            self._thread.start()

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until nothing is pending or in flight; False when the deadline comes first."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if outbox.waiting(self._engine) == 0:
                return True
            if self._thread is None or not self._thread.is_alive():
                self.deliver_due()
            self.wake()
            time.sleep(0.05)
        return outbox.waiting(self._engine) == 0

    def close(self, timeout_s: float = 10.0) -> None:
        """Send what can be sent within ``timeout_s``, then stop; the rest stays queued for next time."""
        if self._thread is None:
            return
        if not self.flush(timeout_s):
            log.warning("notifications still queued at shutdown; the next run will send them")
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=timeout_s)
        self._thread = None

    # -- the worker ---------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.deliver_due()
                self._idle_tasks()
                wait = self._seconds_to_next()
            except Exception:  # the worker must survive a database hiccup; it retries next poll
                log.exception("notification worker failed; retrying in %.0f s", self._poll_s)
                wait = self._poll_s
            self._wake.wait(wait)
            self._wake.clear()

    def _idle_tasks(self) -> None:
        if self._on_idle is None or time.monotonic() - self._last_idle < self._poll_s:
            return
        self._last_idle = time.monotonic()
        self._on_idle()

    def _seconds_to_next(self) -> float:
        due = outbox.next_due_at(self._engine)
        if due is None:
            return self._poll_s
        return max(0.02, min(self._poll_s, (due - utcnow()).total_seconds()))

    def deliver_due(self) -> int:
        """Send every delivery due now; return how many were sent."""
        sent = 0
        while True:
            batch = outbox.claim_due(self._engine, utcnow(), self._lease_s)
            if not batch:
                return sent
            for delivery in batch:
                sent += self._deliver(delivery)

    def _deliver(self, delivery: outbox.Delivery) -> int:
        channel = self.channels.get(delivery.channel)
        if channel is None:
            self._give_up(delivery, f"channel {delivery.channel!r} is no longer configured")
            return 0
        try:
            channel.send(delivery.notification)
        except DeliveryError as exc:
            return self._failed(delivery, str(exc), exc.permanent)
        except Exception as exc:  # a channel bug must not kill the worker; record it like any failure
            log.exception("channel %s crashed", delivery.channel)
            return self._failed(delivery, f"{type(exc).__name__}: {exc}", False)
        outbox.record(self._engine, delivery.id, status="sent", sent_at=utcnow())
        log.info("sent %s to %s", delivery.notification.title, delivery.channel)
        return 1

    def _failed(self, delivery: outbox.Delivery, error: str, permanent: bool) -> int:
        NOTIFICATION_FAILURES.labels(delivery.channel).inc()
        if permanent or delivery.attempt >= self._retry.attempts:
            self._give_up(delivery, error)
            return 0
        delay = self._retry.delay_after(delivery.attempt)
        next_at: datetime = utcnow() + timedelta(seconds=delay)
        log.warning("channel %s failed (attempt %d of %d): %s; retrying in %.1f s",
                    delivery.channel, delivery.attempt, self._retry.attempts, error, delay)
        outbox.record(self._engine, delivery.id, status="pending", next_attempt_at=next_at, last_error=error)
        return 0

    def _give_up(self, delivery: outbox.Delivery, error: str) -> None:
        log.error("channel %s: giving up on %s after %d attempt(s): %s",
                  delivery.channel, delivery.notification.title, delivery.attempt, error)
        outbox.record(self._engine, delivery.id, status="failed", last_error=error)
        if self._on_gave_up is not None:
            try:
                self._on_gave_up(delivery, error)
            except Exception:
                log.exception("on_gave_up callback failed")
