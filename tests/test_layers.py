"""Imports point one way: transport <- dialects <- meter -> echonet; cli and testing on top.

The sources under ``src/aiobroute`` are parsed with :mod:`ast`; every import counts,
at module level or inside a function, except those under ``if TYPE_CHECKING:`` (they
never run). A relative import is resolved against its package; ``from package import
name`` counts as importing the submodule ``package.name`` when one exists.

Layers (a module may import its own layer and the layers listed for it):

- ``base``: errors, version and the private helpers (``_log``, ``_queue``, ``_tasks``,
  ``_time``);
- ``transport``: byte streams (the only place pyserial is imported);
- ``link``: the dialect-independent link interface, once it exists;
- dialects: ``skstack`` (text) and ``j11`` (binary), over transport (and link);
- ``echonet``: the pure ECHONET Lite codec;
- ``meter``: ``meter``, ``supervisor``, ``models`` (and a future ``meter`` package),
  over the dialects and echonet;
- ``recorder``: uses meter;
- ``columns``: the column scheme and CSV dialect of the command line's output;
- ``package``: ``aiobroute/__init__.py``, the curated public API;
- ``cli`` and ``testing`` may import anything; no other module imports them.

The sans-I/O parsers and codecs (``skstack/_parser.py``, ``skstack/_events.py``,
``echonet/*``, ``j11/_frame*``) import neither asyncio nor serial, not even through the
aiobroute modules they import.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "aiobroute"

BELOW_DIALECTS = frozenset({"base", "transport", "link"})
ALLOWED: dict[str, frozenset[str]] = {
    "base": frozenset({"base"}),
    "transport": frozenset({"base", "transport"}),
    "link": frozenset({"base", "transport", "link"}),
    "skstack": BELOW_DIALECTS | {"skstack"},
    "j11": BELOW_DIALECTS | {"j11"},
    "echonet": frozenset({"base", "echonet"}),
    "meter": BELOW_DIALECTS | {"skstack", "j11", "echonet", "meter"},
    "recorder": BELOW_DIALECTS | {"skstack", "j11", "echonet", "meter", "recorder", "columns"},
    "columns": frozenset({"base", "columns"}),
    "package": BELOW_DIALECTS | {"skstack", "j11", "echonet", "meter", "recorder", "package"},
}
#: Layers that may import anything.
TOP = frozenset({"cli", "testing"})
LAYER_OF_TOP_NAME = {
    "errors": "base",
    "_log": "base",
    "_queue": "base",
    "_tasks": "base",
    "_time": "base",
    "_checks": "base",
    "_lazy": "base",
    "_version": "base",
    "_files": "base",
    "_frozen": "base",
    "transport": "transport",
    "link": "link",
    "_probe": "link",
    "_linkstate": "link",
    "skstack": "skstack",
    "j11": "j11",
    "echonet": "echonet",
    "meter": "meter",
    "supervisor": "meter",
    "_dialects": "meter",
    "models": "meter",
    "recorder": "recorder",
    "columns": "columns",
    "cli": "cli",
    "__main__": "cli",
    "testing": "testing",
}
#: Imports that break a rule today, each with the reason it is tolerated. Empty: none.
KNOWN_EXCEPTIONS: frozenset[tuple[str, str]] = frozenset()
#: Modules no sans-I/O module may load, directly or through aiobroute modules.
IO_MODULES = ("asyncio", "serial", "serial_asyncio")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def all_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def layer(module: str) -> str:
    """The layer of an aiobroute module (``package`` for ``aiobroute`` itself)."""
    parts = module.split(".")
    if parts == ["aiobroute"]:
        return "package"
    top = parts[1]
    if top not in LAYER_OF_TOP_NAME:
        pytest.fail(f"{module}: which layer is it? add {top!r} to LAYER_OF_TOP_NAME")
    return LAYER_OF_TOP_NAME[top]


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node that can run: the bodies of ``if TYPE_CHECKING:`` are left out."""
    nodes: list[ast.AST] = []
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        nodes.append(node)
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))
    return nodes


@functools.cache
def imports_of(module: str) -> frozenset[str]:
    """Absolute names of every module ``module`` imports at run time."""
    modules = all_modules()
    path = modules[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join([*base_parts, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            if base == "__future__":
                continue
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in modules else base)
    return frozenset(found)


def internal_imports(module: str) -> frozenset[str]:
    return frozenset(
        name for name in imports_of(module) if name == "aiobroute" or name.startswith("aiobroute.")
    )


def test_the_source_tree_is_found() -> None:
    modules = all_modules()
    assert {"aiobroute.meter", "aiobroute.skstack._parser", "aiobroute.transport"} <= set(modules)
    # The parser sees imports inside functions and skips TYPE_CHECKING blocks.
    assert "aiobroute.meter" in imports_of("aiobroute.testing._sim")
    assert "serial" in imports_of("aiobroute.transport._serial")


def layer_violations() -> set[tuple[str, str]]:
    violations: set[tuple[str, str]] = set()
    for module in all_modules():
        own = layer(module)
        if own in TOP:
            continue
        for target in internal_imports(module):
            if target not in all_modules():
                continue  # e.g. a name imported from a package __init__ (checked there)
            if layer(target) not in ALLOWED[own]:
                violations.add((module, target))
    return violations


def test_imports_point_one_way() -> None:
    violations = layer_violations() - KNOWN_EXCEPTIONS
    assert not violations, "\n".join(
        f"{module} ({layer(module)}) imports {target} ({layer(target)})"
        for module, target in sorted(violations)
    )


def test_known_exceptions_are_still_needed() -> None:
    """An exception that is fixed must be removed from the list."""
    assert layer_violations() >= KNOWN_EXCEPTIONS


def test_no_library_module_imports_cli_or_testing() -> None:
    offenders = sorted(
        (module, target)
        for module in all_modules()
        if layer(module) not in TOP
        for target in internal_imports(module)
        if target.split(".")[:2] in (["aiobroute", "cli"], ["aiobroute", "testing"])
    )
    assert offenders == []


def test_pyserial_is_imported_by_one_module() -> None:
    importers = sorted(
        module
        for module in all_modules()
        if any(name.split(".")[0] in ("serial", "serial_asyncio") for name in imports_of(module))
    )
    assert importers == ["aiobroute.transport._serial"]


def is_sans_io(module: str) -> bool:
    """skstack/_parser.py, skstack/_events.py, echonet/* and j11/_frame*."""
    parts = module.split(".")
    return (
        module in ("aiobroute.skstack._parser", "aiobroute.skstack._events")
        or parts[1:2] == ["echonet"]
        or (parts[1:2] == ["j11"] and len(parts) > 2 and parts[2].startswith("_frame"))
    )


def sans_io_modules() -> list[str]:
    return [module for module in all_modules() if is_sans_io(module)]


def test_sans_io_modules_exist() -> None:
    assert {"aiobroute.skstack._parser", "aiobroute.echonet._frame"} <= set(sans_io_modules())


@pytest.mark.parametrize("module", sans_io_modules())
def test_sans_io_modules_use_no_asyncio_or_serial(module: str) -> None:
    """Neither the module nor any aiobroute module it pulls in imports I/O libraries."""
    seen: set[str] = set()
    todo = [module]
    while todo:
        current = todo.pop()
        if current in seen or current not in all_modules():
            continue
        seen.add(current)
        used = sorted(name for name in imports_of(current) if name.split(".")[0] in IO_MODULES)
        assert not used, f"{module} loads {used} through {current}"
        todo.extend(internal_imports(current))
        # Importing a submodule runs its package's __init__ first.
        parts = current.split(".")
        todo.extend(".".join(parts[:i]) for i in range(1, len(parts)))
