"""What the engines are asked to read: one endpoint's id and scrape config (its own module so both engines'
shared parts can name it without importing an engine)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from .config import ScrapeConfig


class ScrapeRequest(BaseModel):
    """One endpoint to read: its id, its config, and whether to keep evidence even on success."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str
    config: ScrapeConfig
    capture_evidence: bool = False
