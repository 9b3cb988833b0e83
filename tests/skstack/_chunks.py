"""Helpers shared by the LineParser tests: feeding a parser in chunks, splitting a stream.

Imported as ``tests.skstack._chunks`` (pytest puts the repository root on ``sys.path``).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from aiobroute.skstack import LineParser, Message


def feed_chunks(chunks: Sequence[bytes], parser: LineParser | None = None) -> list[Message]:
    """Feed ``chunks`` in order to ``parser`` (a new one by default); return all it emitted."""
    parser = parser or LineParser()
    out: list[Message] = []
    for chunk in chunks:
        out += parser.feed(chunk)
    return out


def split_at(data: bytes, cuts: Sequence[int]) -> list[bytes]:
    """Split ``data`` at the offsets ``cuts`` (clamped to its length, repeats ignored)."""
    points = sorted({min(c, len(data)) for c in cuts})
    return [data[a:b] for a, b in itertools.pairwise([0, *points, len(data)])]
