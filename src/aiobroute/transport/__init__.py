"""Transports: byte streams to a Wi-SUN module (serial port or URL, in-memory pipe)."""

from __future__ import annotations

from aiobroute.transport._base import ByteStream
from aiobroute.transport._memory import MemoryStream, memory_pipe
from aiobroute.transport._serial import SerialStream, open_port

__all__ = ["ByteStream", "MemoryStream", "SerialStream", "memory_pipe", "open_port"]
