"""The Frozen base: the value semantics of a frozen attrs class, without generated code."""

from __future__ import annotations

import copy
import pickle
from typing import ClassVar

import pytest

from aiobroute._frozen import Frozen
from aiobroute.skstack._commands import SkScan, SkSendTo, SkSetPwd


class Point(Frozen):
    __slots__ = ("x", "y")
    kind: ClassVar[str] = "point"
    x: int
    y: int

    def __init__(self, x: int, y: int = 0) -> None:
        self._set("x", x)
        self._set("y", y)


class Labelled(Point):
    __slots__ = ("label",)
    label: str

    def __init__(self, x: int, y: int, label: str) -> None:
        super().__init__(x, y)
        self._set("label", label)


def test_fields_in_declaration_order_bases_first_class_vars_left_out() -> None:
    assert Point._fields == ("x", "y")
    assert Labelled._fields == ("x", "y", "label")
    assert Labelled.__match_args__ == ("x", "y", "label")
    assert repr(Labelled(1, 2, "a")) == "Labelled(x=1, y=2, label='a')"


def test_equality_and_hash_by_class_and_fields() -> None:
    assert Point(1, 2) == Point(1, 2)
    assert Point(1, 2) != Point(2, 1)
    assert hash(Point(1, 2)) == hash(Point(1, 2))
    assert len({Point(1, 2), Point(1, 2), Point(1, 3)}) == 2
    # An instance of a subclass is never equal to one of its base.
    assert Labelled(1, 2, "a") != Point(1, 2)
    assert Point(1, 2) != (1, 2)


def test_instances_are_immutable() -> None:
    point = Point(1, 2)
    with pytest.raises(AttributeError, match="immutable"):
        point.x = 5
    with pytest.raises(AttributeError, match="immutable"):
        del point.y
    with pytest.raises(AttributeError):
        point.z = 1
    assert point == Point(1, 2)


def test_copy_pickle_and_match() -> None:
    label = Labelled(1, 2, "a")
    assert copy.copy(label) == label
    assert copy.deepcopy(label) == label
    assert pickle.loads(pickle.dumps(label)) == label  # noqa: S301 - our own bytes
    match label:
        case Labelled(1, y, label="a"):
            assert y == 2
        case _:
            pytest.fail("positional and keyword patterns must match")


def test_sk_commands_keep_their_value_semantics() -> None:
    scan = SkScan(2, 0xFFFFFFFF, 6, side=0)
    assert scan == SkScan(mode=2, mask=0xFFFFFFFF, duration=6, side=0)
    assert repr(scan) == "SkScan(mode=2, mask=4294967295, duration=6, side=0)"
    send = SkSendTo(1, "FE80::1", 0x0E1A, 1, payload=b"\x10")
    # SKSENDTO's payload is keyword-only, as it was: not a positional match argument.
    assert SkSendTo.__match_args__ == ("handle", "ipaddr", "port", "sec", "side")
    assert send != SkSendTo(1, "FE80::1", 0x0E1A, 1, payload=b"\x11")
    assert "secret" not in repr(SkSetPwd(6, "secret"))
