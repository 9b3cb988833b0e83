"""A base for small immutable value classes that costs nothing to define.

attrs generates and compiles ``__init__``, ``__repr__``, ``__eq__`` and ``__hash__`` for
every class it decorates: about half a millisecond and 16 KiB each, paid at import. The
tables on the import path of :class:`~aiobroute.SmartMeter` (one class per SK command,
one per SKSTACK message) derive from :class:`Frozen` instead: each class annotates its
fields, lists them in ``__slots__`` and writes its own ``__init__``; equality, hashing,
``repr``, immutability, pattern matching, copying and pickling come from the base,
built from the fields, without generating any code.
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

__all__ = ["Frozen"]

#: How a class-level (not per-instance) annotation starts.
_CLASS_VARS = ("ClassVar", "typing.ClassVar")


class Frozen:
    """An immutable value: equal to an instance of the same class with equal fields.

    A subclass annotates its fields in order (those of its bases come first; ``ClassVar``
    annotations are not fields), lists them in ``__slots__`` and sets them in
    ``__init__`` with :meth:`_set`. Like a frozen attrs class, an instance
    refuses attribute assignment, compares and hashes by class and fields, and shows
    them in its ``repr``; ``__match_args__`` lists the fields in order unless the class
    sets its own.
    """

    __slots__ = ()
    #: Every field, the bases' first (set for each subclass).
    _fields: ClassVar[tuple[str, ...]] = ()
    __match_args__: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        names: list[str] = []
        for klass in reversed(cls.__mro__):
            for name, annotation in inspect.get_annotations(klass).items():
                if name not in names and not str(annotation).startswith(_CLASS_VARS):
                    names.append(name)
        cls._fields = tuple(names)
        if "__match_args__" not in cls.__dict__:
            type.__setattr__(cls, "__match_args__", cls._fields)

    #: Set a field (for ``__init__`` only): ``object.__setattr__`` bound to the instance,
    #: a C call with no Python frame, since objects are made on every reading.
    _set = object.__setattr__

    def _values(self) -> tuple[object, ...]:
        return tuple([getattr(self, name) for name in self._fields])

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable: cannot delete {name!r}")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash((self.__class__, self._values()))

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__name__}({shown})"

    def __getstate__(self) -> tuple[object, ...]:
        return self._values()

    def __setstate__(self, state: tuple[object, ...]) -> None:
        for name, value in zip(self._fields, state, strict=True):
            object.__setattr__(self, name, value)
