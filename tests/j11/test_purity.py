"""The J11 codec is sans-I/O: its modules import neither asyncio nor serial."""

from __future__ import annotations

import ast
from pathlib import Path

import aiobroute.j11

CODEC = ("__init__.py", "_frame.py", "_types.py", "_requests.py", "_messages.py")
ALLOWED_FIRST_PARTY = {"aiobroute.errors"} | {
    "aiobroute.j11." + name.removesuffix(".py") for name in CODEC[1:]
}
FORBIDDEN = {"asyncio", "serial", "serial_asyncio", "socket", "threading", "time"}


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_codec_modules_are_pure() -> None:
    package = Path(aiobroute.j11.__file__).parent
    for name in CODEC:
        modules = imported_modules(package / name)
        assert not {m.split(".")[0] for m in modules} & FORBIDDEN, name
        first_party = {m for m in modules if m.startswith("aiobroute")}
        assert first_party <= ALLOWED_FIRST_PARTY, name
