"""Who changed what: one row per administrative action, kept in the database."""

from __future__ import annotations

import getpass
import logging
from typing import Any

from sqlalchemy import Engine, insert

from nxforge.db.schema import audit_log
from nxforge.db.types import utcnow

log = logging.getLogger(__name__)


def default_actor() -> str:
    """The operating-system user, for actions taken from the command line."""
    try:
        return f"cli:{getpass.getuser()}"
    except OSError:
        return "cli:unknown"


def record_audit(engine: Engine, actor: str, action: str, target: str, detail: dict[str, Any] | None = None) -> None:
    """Append one audit row."""
    with engine.begin() as conn:
        conn.execute(insert(audit_log).values(at=utcnow(), actor=actor, action=action, target=target, detail=detail))
    log.info("audit: %s %s %s", actor, action, target)
