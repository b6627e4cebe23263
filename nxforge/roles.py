"""The four roles and the one rule that says whether a role may see a page."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, cast

Role = Literal["viewer", "finance", "ops", "admin"]
ALL_ROLES: tuple[Role, ...] = ("viewer", "finance", "ops", "admin")
ROLES: tuple[Role, ...] = ALL_ROLES
ROLE_DESCRIPTIONS: dict[Role, str] = {
    "viewer": "live status and history",
    "finance": "viewer + billing reports and downloads",
    "ops": "viewer + endpoint configs, selector tests, executions and events",
    "admin": "everything: modules, settings, users",
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
