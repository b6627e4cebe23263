"""Layers that hold: modules reach the core only through ``nxforge.sdk``, and no import circle in ``nxforge``.

The layer contracts themselves are import-linter's (``pyproject.toml``, run by ``scripts/test.sh``);
these tests say the two rules a newcomer breaks first, in the words of a failing test.
"""

from __future__ import annotations

import ast
import pkgutil
import tomllib
from collections.abc import Iterator
from pathlib import Path

import grimp
import pytest

import nxforge

ROOT = Path(__file__).resolve().parents[2]
SDK = "nxforge.sdk"


def core_imports(source: str) -> Iterator[tuple[int, str]]:
    """(line, name) of every absolute import of ``nxforge`` or its parts in ``source``."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            base = node.module
            names = [f"{base}.{alias.name}" for alias in node.names] if base == "nxforge" else [base]
        else:
            continue
        for name in names:
            if name == "nxforge" or name.startswith("nxforge."):
                yield node.lineno, name


def outside_the_sdk(source: str) -> list[tuple[int, str]]:
    """The imports of ``source`` that reach ``nxforge`` other than through ``nxforge.sdk``."""
    return [(line, name) for line, name in core_imports(source) if name != SDK and not name.startswith(SDK + ".")]


@pytest.mark.parametrize(
    ("source", "bad"),
    [
        ("from nxforge.sdk import ModuleContext\nfrom .config import x\n", []),
        ("import nxforge.sdk\n", []),
        ("from nxforge import sdk\n", []),
        ("from nxforge.audit import record_audit\n", [(1, "nxforge.audit")]),
        ("import nxforge.platform as p\n", [(1, "nxforge.platform")]),
        ("from nxforge import errors\n", [(1, "nxforge.errors")]),
        ("def f():\n    from nxforge.app.flash import flash\n", [(2, "nxforge.app.flash")]),
    ],
)
def test_the_rule_itself(source: str, bad: list[tuple[int, str]]) -> None:
    assert outside_the_sdk(source) == bad


def test_module_files_import_only_the_sdk_from_nxforge() -> None:
    offences = [
        f"{path.relative_to(ROOT)}:{line}: imports {name}"
        for path in sorted((ROOT / "modules").rglob("*.py"))
        for line, name in outside_the_sdk(path.read_text(encoding="utf-8"))
    ]
    assert offences == [], "modules import nxforge.sdk and nothing else of nxforge:\n" + "\n".join(offences)


def test_the_modules_contract_forbids_every_core_package_but_the_sdk() -> None:
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = settings["tool"]["importlinter"]["contracts"]
    [forbidden] = [contract for contract in contracts if contract["type"] == "forbidden"]
    children = {f"nxforge.{info.name}" for info in pkgutil.iter_modules(nxforge.__path__)}
    assert set(forbidden["forbidden_modules"]) == children - {SDK}, "list every new nxforge package in pyproject.toml"


def _circles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    for start in sorted(graph.modules):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.find_modules_directly_imported_by(start))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            module, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                elif child in on_stack:
                    low[module] = min(low[module], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[module])
            if low[module] == index[module]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == module:
                        break
                if len(group) > 1:
                    found.append(sorted(group))
    return found


def test_no_import_circle_between_any_modules_of_nxforge() -> None:
    graph = grimp.build_graph("nxforge", cache_dir=None)  # imports under TYPE_CHECKING and in functions count
    circles = _circles(graph)
    assert circles == [], "import circles (break each with a neutral module or a Protocol):\n" + "\n".join(
        " -> ".join(circle) for circle in circles
    )
