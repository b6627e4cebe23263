"""Which modules need which: refuse cycles, enabling before a dependency, disabling under a dependent."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from nxforge.module_system.manifest import Manifest


def find_cycle(manifests: Mapping[str, Manifest]) -> list[str] | None:
    """A dependency cycle as a list of names (first == last), or None."""
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done

    def visit(name: str, stack: list[str]) -> list[str] | None:
        state[name] = 1
        for dependency in manifests[name].requires.modules:
            if dependency not in manifests:
                continue
            if state.get(dependency) == 1:
                return [*stack[stack.index(dependency) :], dependency]
            if dependency not in state:
                cycle = visit(dependency, [*stack, dependency])
                if cycle:
                    return cycle
        state[name] = 2
        return None

    for name in sorted(manifests):
        if name not in state:
            cycle = visit(name, [name])
            if cycle:
                return cycle
    return None


def missing_for_enable(name: str, manifests: Mapping[str, Manifest], enabled: Iterable[str]) -> list[str]:
    """Reasons ``name`` cannot be enabled now (empty when it can)."""
    enabled_set = set(enabled)
    reasons = []
    for dependency in manifests[name].requires.modules:
        if dependency not in manifests:
            reasons.append(f"it requires module {dependency!r}, which is not installed")
        elif dependency not in enabled_set:
            reasons.append(f"it requires module {dependency!r}, which is disabled: enable {dependency!r} first")
    return reasons


def enabled_dependents(name: str, manifests: Mapping[str, Manifest], enabled: Iterable[str]) -> list[str]:
    """Enabled modules that require ``name``."""
    return sorted(
        other for other in enabled if other in manifests and name in manifests[other].requires.modules
    )
