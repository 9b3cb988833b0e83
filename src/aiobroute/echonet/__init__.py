"""ECHONET Lite layer: frames, service codes, objects and property value codecs (no I/O)."""

from __future__ import annotations

from aiobroute.echonet._frame import Frame, Property
from aiobroute.echonet._types import CONTROLLER, NODE_PROFILE, SMART_METER, Eoj, Esv

__all__ = [
    "CONTROLLER",
    "NODE_PROFILE",
    "SMART_METER",
    "Eoj",
    "Esv",
    "Frame",
    "Property",
]
