"""What a core page receives: the core pages' counterpart of a module's ModuleContext."""

from __future__ import annotations

from dataclasses import dataclass

from nxforge.auth.users import User, UserStore
from nxforge.platform import Platform


@dataclass(frozen=True)
class CorePageContext:
    """The platform, the user store and who is looking; core pages need more than a module does."""

    platform: Platform
    users: UserStore
    user: User

    @property
    def client(self) -> str | None:
        """The one client a ``client`` user may see; None for staff, who see every client."""
        return self.user.client

    @property
    def actor(self) -> str:
        """The name audit rows carry for actions taken in the app."""
        return f"app:{self.user.username}"
