"""The clients the enabled modules declare: what a client user's ``client:`` in users.yaml must name.

The core knows no client; each module that has some names them through the ``clients`` hook of its
manifest (see HOOKS in ``contract.py``). ``nxforge config check`` refuses a binding to none of them,
``nxforge users`` and the Users page warn.
"""

from __future__ import annotations

from typing import Literal

from nxforge.config.loader import validate_file
from nxforge.config.models import CoreConfig
from nxforge.environment import Environment
from nxforge.module_system.config_hooks import NOT_ASKED, call_config_hook
from nxforge.module_system.discovery import ModuleInfo, discover_modules

CLIENTS_HOOK: Literal["clients"] = "clients"
"""The manifest hook that names the clients a module's config declares."""


def declared_clients(env: Environment, core: CoreConfig | None, modules: list[ModuleInfo]) -> set[str] | None:
    """The clients the enabled modules' config declares; None when none of them declares clients."""
    found: set[str] | None = None
    for info in modules:
        names = call_config_hook(env, core, info, CLIENTS_HOOK)
        if names is not NOT_ASKED:
            found = (found or set()) | set(names)
    return found


def undeclared_client(env: Environment, client: str) -> str | None:
    """A warning when ``client`` is declared by no enabled module (``nxforge users add|role --client``, Users page)."""
    try:
        core = validate_file(env.core_config_path, CoreConfig) if env.core_config_path.exists() else None
        declared = declared_clients(env, core, discover_modules(env.modules_dir))
    except Exception as exc:  # the check is advice: the user change stands, `nxforge config check` says more
        return f"could not check client {client!r} against the declared clients: {exc}"
    if declared is None or client in declared:
        return None
    return (f"client {client!r} is declared by no enabled module (declared: {', '.join(sorted(declared)) or 'none'}); "
            "this user sees nothing until it is")
