"""``python -m aiobroute.testing`` run as a user runs it, for the command-line tests.

Imported as ``tests.testing._serve``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from aiobroute.testing import DEFAULT_PASSWORD, DEFAULT_RBID


class Served:
    """A running simulator: its banner and an open descriptor on its link.

    After the ``async with`` block, ``code`` and ``rest`` hold the exit status and the
    output after Ctrl-C.
    """

    def __init__(self, banner: list[str], fd: int) -> None:
        self.banner = banner
        self.fd = fd
        self.code: int | None = None
        self.rest = b""


@contextlib.asynccontextmanager
async def serving(link: Path, model: str, *options: str) -> AsyncIterator[Served]:
    """Start ``python -m aiobroute.testing OPTIONS --link LINK``; stop it with Ctrl-C.

    The banner must name ``model`` and ``link`` and show the default credentials; the
    link is opened (read/write, not as the controlling terminal) for the block.
    """
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "aiobroute.testing",
        *options,
        "--link",
        str(link),
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    try:
        async with asyncio.timeout(20):
            banner = [(await process.stdout.readline()).decode() for _ in range(4)]
        assert banner[0] == f"Simulated {model} on {link}\n"
        assert DEFAULT_RBID in banner[1]
        assert DEFAULT_PASSWORD in banner[2]
        served = Served(banner, os.open(link, os.O_RDWR | os.O_NOCTTY))
        try:
            yield served
        finally:
            os.close(served.fd)
        process.send_signal(signal.SIGINT)
        async with asyncio.timeout(20):
            served.rest = await process.stdout.read()
            served.code = await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
