"""``nxforge config check``: validate every YAML file at once and report every problem with file:line.

Each file is validated against its model (``nxforge.yaml`` with its ``notifications:`` section,
``users.yaml``, every manifest, every module's config folder), then each enabled module's
``config-rules`` hook judges its folder as a whole (duplicate ids across files, names referenced
but not declared), so the check refuses what the collector would refuse. A client user's
``client:`` must name a client that an enabled module declares (its ``clients`` hook): a misspelt
one would show that user nothing. Last, every ``${NAME}`` reference in those files must have a
value (environment or ``secrets.yaml``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from nxforge.auth.users import USERS_FILE, UsersDocument
from nxforge.config.errors import ConfigError, ConfigProblem
from nxforge.config.loader import FieldPath, load_yaml, validate_file
from nxforge.config.models import CoreConfig
from nxforge.environment import SECRETS_FILE, Environment
from nxforge.module_system.clients import CLIENTS_HOOK, declared_clients
from nxforge.module_system.config_hooks import NOT_ASKED, call_config_hook
from nxforge.module_system.discovery import MANIFEST_FILE, ModuleInfo, discover_modules
from nxforge.module_system.loading import HandlerError, resolve_handler
from nxforge.module_system.manifest import Manifest
from nxforge.notifications.config import load_notifications_config
from nxforge.secrets import REFERENCE

CONFIG_RULES_HOOK: Literal["config-rules"] = "config-rules"
"""The manifest hook that judges a module's whole config folder (see HOOKS in nxforge/module_system/contract.py)."""


def _problems_of(path: Path, model: type[BaseModel]) -> list[ConfigProblem]:
    try:
        validate_file(path, model)
    except ConfigError as exc:
        return exc.problems
    return []


def _core_problems(env: Environment) -> tuple[CoreConfig | None, list[ConfigProblem]]:
    """``nxforge.yaml``: the core's own fields, then the notifications section its package validates."""
    path = env.core_config_path
    problems = _problems_of(path, CoreConfig)
    try:
        load_notifications_config(path)
    except ConfigError as exc:
        problems += exc.problems
    return (None if problems else validate_file(path, CoreConfig)), problems


def _module_problems(
    env: Environment, info: ModuleInfo, core: CoreConfig | None
) -> tuple[list[Path], list[ConfigProblem]]:
    """One module: its config files against their model, then its whole-folder rules when it is enabled."""
    manifest = info.manifest
    manifest_path = info.folder / MANIFEST_FILE
    if manifest is None or manifest.config is None:
        return [], []
    folder = env.config_dir / manifest.config.folder
    try:
        model = resolve_handler(env.modules_dir, manifest.config.model)
    except HandlerError as exc:
        return [], [ConfigProblem(manifest_path, None, "config.model", str(exc))]
    checked = sorted(folder.glob("*.yaml")) if folder.is_dir() else []
    problems = [problem for path in checked for problem in _problems_of(path, model)]
    try:
        rules = call_config_hook(env, core, info, CONFIG_RULES_HOOK)
    except Exception as exc:  # a module's broken rule is reported like any problem, never a crash
        message = f"{manifest.hooks.get(CONFIG_RULES_HOOK)} failed: {type(exc).__name__}: {exc}"
        problems.append(ConfigProblem(manifest_path, None, f"hooks.{CONFIG_RULES_HOOK}", message))
    else:
        problems += [] if rules is NOT_ASKED else rules
    return checked, problems


def client_binding_problems(users_path: Path, declared: set[str]) -> list[ConfigProblem]:
    """Each client user whose ``client:`` names none of ``declared``, at its line in users.yaml."""
    try:
        loaded = load_yaml(users_path)
        users = validate_file(users_path, UsersDocument).users
    except ConfigError:
        return []  # the file's own problems are reported by its model
    known = ", ".join(sorted(declared)) or "none"
    problems = []
    for username, record in users.items():
        if record.client is not None and record.client not in declared:
            message = (f"client {record.client!r} is declared by no enabled module (declared: {known}); "
                       "this user would see nothing: fix the name, or declare the client under clients:")
            problems.append(ConfigProblem(users_path, loaded.line_of(("users", username, "client")),
                                          f"users.{username}.client", message))
    return problems


def _strings(data: Any, location: FieldPath = ()) -> Iterator[tuple[FieldPath, str]]:
    """Every string value of a YAML document with its field path."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _strings(value, (*location, str(key)))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _strings(value, (*location, index))
    elif isinstance(data, str):
        yield location, data


def _missing_secrets(env: Environment, files: list[Path]) -> list[ConfigProblem]:
    """Each ``${NAME}`` in ``files`` with no value in the environment nor in ``secrets.yaml``."""
    secrets_path = env.config_dir / SECRETS_FILE
    try:
        secrets = env.secrets
    except ConfigError as exc:
        return exc.problems
    except ValueError as exc:
        return [ConfigProblem(secrets_path, None, "", str(exc))]
    problems = []
    for path in files:
        try:
            loaded = load_yaml(path)
        except ConfigError:
            continue  # reported with the file's own problems
        for location, text in _strings(loaded.data):
            if path == env.core_config_path and location == ("database", "url") and env.database_url_override:
                continue  # NXFORGE_DATABASE_URL wins: this URL is not used
            for name in REFERENCE.findall(text):
                if not secrets.has(name):
                    message = f"secret ${{{name}}} is not set: export {name}=... or add it to {secrets_path}"
                    field = ".".join(str(part) for part in location)
                    problems.append(ConfigProblem(path, loaded.line_of(location), field, message))
    return problems


def check_all(env: Environment) -> tuple[list[Path], list[ConfigProblem]]:
    """The files checked and every problem found in them, each reported once."""
    checked: list[Path] = []
    problems: list[ConfigProblem] = []
    core: CoreConfig | None = None
    if env.core_config_path.exists():
        checked.append(env.core_config_path)
        core, found = _core_problems(env)
        problems += found
    users_path = env.config_dir / USERS_FILE
    if users_path.exists():
        checked.append(users_path)
        problems += _problems_of(users_path, UsersDocument)
    enabled = set(core.modules.enabled) if core else set()
    modules = discover_modules(env.modules_dir)
    known = {info.name for info in modules}
    judged = True
    for name in sorted(enabled - known):
        message = f"module {name!r} is enabled but not installed"
        problems.append(ConfigProblem(env.core_config_path, None, "modules.enabled", message))
    for info in modules:
        manifest_path = info.folder / MANIFEST_FILE
        checked.append(manifest_path)
        if info.manifest is None:
            judged = judged and info.name not in enabled  # an enabled module that cannot say what it declares
            found = _problems_of(manifest_path, Manifest)
            problems += found or [ConfigProblem(manifest_path, None, "", info.error or "invalid manifest")]
            continue
        files, found = _module_problems(env, info, core)
        checked += files
        problems += found
        judged = judged and not (found and CLIENTS_HOOK in info.manifest.hooks and info.name in enabled)
    if users_path.exists() and judged:  # a module whose own files are broken cannot say what it declares
        try:
            declared = declared_clients(env, core, modules)
        except Exception as exc:  # a module's broken hook is reported like any problem, never a crash
            problems.append(ConfigProblem(users_path, None, "", f"the declared clients could not be read: "
                                          f"{CLIENTS_HOOK} hook failed: {type(exc).__name__}: {exc}"))
        else:
            problems += client_binding_problems(users_path, declared) if declared is not None else []
    problems += _missing_secrets(env, [path for path in checked if path.name != MANIFEST_FILE])
    return checked, list(dict.fromkeys(problems))
