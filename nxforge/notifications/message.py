"""What a channel sends: one notification, rendered as JSON, a chat line or an email.

A notification is stored as its JSON payload in the outbox, so a delivery retried by another
process (or after a restart) sends exactly what was decided when the alert changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Phase = Literal["raised", "escalated", "reminder", "recovered", "notice"]

_HEADLINE = {
    "raised": "{severity}",
    "escalated": "{severity} (escalated)",
    "reminder": "{severity} (still open)",
    "recovered": "RECOVERED",
    "notice": "{severity}",
}


@dataclass(frozen=True)
class Notification:
    """One message about one alert (or one notable event) for every channel it is routed to."""

    phase: Phase
    module: str
    kind: str
    key: str
    severity: str
    message: str
    at: datetime
    site: str = "NxForge"
    alert_id: int | None = None
    opened_at: datetime | None = None
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def headline(self) -> str:
        """``CRITICAL``, ``WARNING (still open)``, ``RECOVERED`` ...: what a person reads first."""
        return _HEADLINE[self.phase].format(severity=self.severity.upper())

    @property
    def title(self) -> str:
        """A one-line summary: the email subject and the first line of a chat message."""
        return f"{self.headline}: {self.module} {self.kind} {self.key}"

    def text(self) -> str:
        """The plain-text body: what happened, where, and since when."""
        lines = [self.title, "", self.message, "", f"site: {self.site}", f"at: {self.at.isoformat()}"]
        if self.opened_at is not None and self.phase != "raised":
            lines.append(f"open since: {self.opened_at.isoformat()}")
        for name, value in sorted(self.data.items()):
            lines.append(f"{name}: {value}")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        """The webhook body (also what the outbox stores)."""
        return {
            "source": "nxforge",
            "site": self.site,
            "phase": self.phase,
            "module": self.module,
            "kind": self.kind,
            "key": self.key,
            "severity": self.severity,
            "title": self.title,
            "message": self.message,
            "at": self.at.isoformat(),
            "opened_at": self.opened_at.isoformat() if self.opened_at else None,
            "alert_id": self.alert_id,
            "data": self.data,
        }

    @classmethod
    def from_json(cls, payload: dict[str, Any]) -> Notification:
        """Rebuild a stored notification."""
        opened = payload.get("opened_at")
        return cls(
            phase=payload["phase"],
            module=payload["module"],
            kind=payload["kind"],
            key=payload["key"],
            severity=payload["severity"],
            message=payload["message"],
            at=datetime.fromisoformat(payload["at"]),
            site=payload.get("site", "NxForge"),
            alert_id=payload.get("alert_id"),
            opened_at=datetime.fromisoformat(opened) if opened else None,
            data=dict(payload.get("data") or {}),
        )
