"""The roles and the one rule that says whether a role may see a page.

Four staff roles see the whole site; ``client`` is an outside user bound to one client
(``client: acme`` in users.yaml) who sees only the pages that name ``client`` in their roles,
and on them only that client's data (the query functions filter by ``ctx.client``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, cast

Role = Literal["viewer", "finance", "ops", "admin", "client"]
STAFF_ROLES: tuple[Role, ...] = ("viewer", "finance", "ops", "admin")
ALL_ROLES: tuple[Role, ...] = STAFF_ROLES
"""What a page declared without ``roles`` is shown to: every staff role, never ``client`` (opt-in only)."""
CLIENT_ROLE: Role = "client"
ROLES: tuple[Role, ...] = (*STAFF_ROLES, CLIENT_ROLE)
"""Every role a user may have."""
ROLE_DESCRIPTIONS: dict[Role, str] = {
    "viewer": "live status and history",
    "finance": "viewer + billing reports and downloads",
    "ops": "viewer + endpoint configs, selector tests, executions and events",
    "admin": "everything: modules, settings, users",
    "client": "one client's own endpoints (live, history, energy, power) and its own statements only",
}


def parse_role(value: str) -> Role:
    """``value`` as a role, or a ValueError listing the roles."""
    if value not in ROLES:
        raise ValueError(f"unknown role {value!r}; choose one of {', '.join(ROLES)}")
    return cast(Role, value)


def can_see(role: str, allowed: Iterable[str]) -> bool:
    """True when a page declared for ``allowed`` roles is shown to ``role``.

    The manifest lists the roles explicitly, so a page's author decides; nothing is implied.
    """
    return role in set(allowed)
