"""Task helpers shared by the layers."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

__all__ = ["cancel_and_wait"]


async def cancel_and_wait(tasks: Iterable[asyncio.Task[Any] | None]) -> None:
    """Cancel ``tasks`` and wait until they have finished.

    Their outcomes are collected, never raised (so an earlier failure of a background
    task cannot break a close), but the caller's own cancellation still propagates. The
    current task is skipped, so a task may close the object that owns it.
    """
    current = asyncio.current_task()
    owned = [task for task in tasks if task is not None and task is not current]
    for task in owned:
        task.cancel()
    pending = [task for task in owned if not task.done()]
    if pending:
        await asyncio.wait(pending)
    for task in owned:
        if not task.cancelled():
            task.exception()  # retrieved: no "exception was never retrieved" log
