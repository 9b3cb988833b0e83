"""A POSIX pseudo-terminal as the simulated module's port.

The simulator keeps the master end (non-blocking, watched with ``loop.add_reader``) and
hands out the slave's path, which any serial client (pyserial, the real transport) can
open like a USB dongle. The slave is in raw mode and the simulator holds it open too, so
clients can close and reopen it without the master seeing a hang-up. An optional stable
symlink points at the slave (only a missing path or a stale link of an earlier simulator
is ever replaced: anything else at the path is refused); :meth:`PtyPort.close_nowait`
removes it if it still points at this pty, so "unplugging"
looks like a device node going away and a new :class:`PtyPort` with the same link looks
like the dongle coming back under the same path.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import stat
from pathlib import Path

from aiobroute.errors import PortClosedError, UnsafePathError

__all__ = ["PtyPort"]

_LOGGER = logging.getLogger(__name__)
_READ_SIZE = 65536
#: Output kept for a client that does not read; beyond this the oldest bytes are dropped
#: (a UART without flow control loses data the same way).
_MAX_PENDING = 1 << 20
#: Where pseudo-terminal slaves live (Linux, the BSDs and macOS).
_PTY_PREFIXES = ("/dev/pts/", "/dev/ttys", "/dev/ttyp")


class PtyPort:
    """The master side of a new pseudo-terminal, as a byte stream.

    Must be created inside a running event loop. ``path`` is the slave device;
    ``link`` (if given) is a symlink to it that exists while the port is open.
    """

    def __init__(self, link: str | os.PathLike[str] | None = None) -> None:
        import tty  # POSIX only: imported here so the package imports everywhere

        self._loop = asyncio.get_running_loop()
        self._master, self._slave = os.openpty()
        try:
            tty.setraw(self._slave)
            os.set_blocking(self._master, False)
            self.path = os.ttyname(self._slave)
            self.link = Path(link) if link is not None else None
            if self.link is not None:
                _create_symlink(self.link, self.path)
        except BaseException:
            os.close(self._master)
            os.close(self._slave)
            raise
        self._closed = False
        self._rbuf = bytearray()
        self._wbuf = bytearray()
        self._readable = asyncio.Event()
        self._writing = False
        self._loop.add_reader(self._master, self._on_readable)

    @property
    def name(self) -> str:
        """The path a client opens: the link if there is one, else the slave device."""
        return str(self.link) if self.link is not None else self.path

    @property
    def closed(self) -> bool:
        """True once closed."""
        return self._closed

    def _on_readable(self) -> None:
        try:
            data = os.read(self._master, _READ_SIZE)
        except BlockingIOError:
            return
        except OSError:
            _LOGGER.debug("pty master read failed; closing", exc_info=True)
            self.close_nowait()
            return
        if data:
            self._rbuf += data
            self._readable.set()

    async def read(self) -> bytes:
        """Bytes the client wrote to the slave (at least one)."""
        while not self._rbuf:
            if self._closed:
                raise PortClosedError(f"{self.name}: pty closed")
            self._readable.clear()
            await self._readable.wait()
        data = bytes(self._rbuf)
        self._rbuf.clear()
        return data

    def write_nowait(self, data: bytes) -> None:
        """Queue ``data`` for the client; written as fast as the pty takes it."""
        if self._closed:
            raise PortClosedError(f"{self.name}: pty closed")
        self._wbuf += data
        if len(self._wbuf) > _MAX_PENDING:
            _LOGGER.warning("pty client is not reading; dropping old output")
            del self._wbuf[: len(self._wbuf) - _MAX_PENDING]
        self._flush()

    async def write(self, data: bytes) -> None:
        """Like :meth:`write_nowait`, then yield to the event loop."""
        self.write_nowait(data)
        await asyncio.sleep(0)

    def _flush(self) -> None:
        while self._wbuf and not self._closed:
            try:
                written = os.write(self._master, self._wbuf)
            except BlockingIOError:
                break
            except OSError:
                _LOGGER.debug("pty master write failed; closing", exc_info=True)
                self.close_nowait()
                return
            del self._wbuf[:written]
        if self._closed:
            return
        if self._wbuf and not self._writing:
            self._loop.add_writer(self._master, self._flush)
            self._writing = True
        elif not self._wbuf and self._writing:
            self._loop.remove_writer(self._master)
            self._writing = False

    def close_nowait(self) -> None:
        """Close both ends (the client sees the device vanish) and remove the link."""
        if self._closed:
            return
        self._closed = True
        self._loop.remove_reader(self._master)
        if self._writing:
            self._loop.remove_writer(self._master)
            self._writing = False
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)
        if self.link is not None:
            with contextlib.suppress(OSError):
                if os.readlink(self.link) == self.path:
                    self.link.unlink()
        self._readable.set()

    async def close(self) -> None:
        """Close (see :meth:`close_nowait`)."""
        self.close_nowait()
        await asyncio.sleep(0)


def _create_symlink(link: Path, target: str) -> None:
    """Make ``link`` a new symlink to ``target``; refuse to replace anything but our own link.

    "Our own" is a symlink to a pseudo-terminal that no longer exists (left behind by a
    simulator that was killed): a regular file, a directory, a device node, any other
    symlink, or a link to a live pty (another simulator is serving) is left alone and
    :class:`~aiobroute.errors.UnsafePathError` is raised.
    """
    try:
        info = os.lstat(link)
    except FileNotFoundError:
        pass
    else:
        if not stat.S_ISLNK(info.st_mode) or not _stale_pty_link(link):
            raise UnsafePathError(
                f"{link} already exists and is not a stale simulator link; refusing to "
                "replace it (remove it or choose another --link path)"
            )
        with contextlib.suppress(FileNotFoundError):
            link.unlink()
    try:
        os.symlink(target, link)  # fails if anything appeared meanwhile: never clobbers
    except FileExistsError:
        raise UnsafePathError(f"{link} appeared while creating the link; refusing") from None


def _stale_pty_link(link: Path) -> bool:
    """True when ``link`` points at a pseudo-terminal slave that is gone."""
    try:
        target = os.readlink(link)
    except OSError:
        return False
    return target.startswith(_PTY_PREFIXES) and not os.path.lexists(target)
