"""The ``scrape-config`` hook: ``nxforge scrape test ENDPOINT`` reads an endpoint as the collect job would.

The core's command knows no module: it asks every enabled module's hook for the endpoint, and
this one answers with the endpoint's scrape config from the YAML folder (evidence kept, so ops
at a terminal get the screenshot and page source of a failed read).
"""

from __future__ import annotations

from nxforge.sdk import ModuleContext, ScrapeRequest

from .config import load_endpoints


def scrape_request(ctx: ModuleContext, endpoint: str) -> ScrapeRequest | None:
    """The request the collect job would send for ``endpoint`` (evidence kept), or None when it is not ours."""
    found = load_endpoints(ctx.config_dir).by_id().get(endpoint)
    if found is None:
        return None
    return ScrapeRequest(key=found.id, config=found.scrape, capture_evidence=True)
