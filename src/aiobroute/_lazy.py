"""PEP 562 lazy public names, for the packages that load their parts on first use."""

from __future__ import annotations

#: ``typing.TYPE_CHECKING`` without importing ``typing`` (``import aiobroute`` stays cheap).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any

__all__ = ["lazy_dir", "lazy_getattr"]


def lazy_getattr(
    package: str, namespace: dict[str, Any], names: Mapping[str, str]
) -> Callable[[str], Any]:
    """A module ``__getattr__`` importing each of ``names`` from its module on first use.

    ``names`` maps a public name to the module that defines it; the value is then kept in
    ``namespace`` (the package's globals), so the next access costs nothing.
    """

    def get_attribute(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        import importlib

        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    return get_attribute


def lazy_dir(namespace: dict[str, Any], public: list[str]) -> Callable[[], list[str]]:
    """A module ``__dir__``: every public name, loaded or not (for completion)."""

    def list_names() -> list[str]:
        return sorted(set(namespace) | set(public))

    return list_names
