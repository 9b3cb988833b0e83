"""The Get planner: which EPCs go together in one Get frame (pure, no I/O).

A meter answers a Get of several properties in one frame, but some cap the number of
EPCs per Get (refusing the whole frame with an empty Get_SNA), and some drop a property
from a big Get that they answer alone. The planner turns the EPCs wanted into batches,
splits a refused batch in halves, learns the cap from refusals, and asks once more, singly,
for what a partial answer left out.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

__all__ = ["LARGE_EPCS", "GetPlan", "learn_limit"]

#: Properties with a large EDT (194 bytes for E2/E4): always asked for alone.
LARGE_EPCS = frozenset({0xE2, 0xE4, 0xEC, 0xEE})


def learn_limit(current: int | None, refused: int) -> int | None:
    """The batch limit after the meter refused a Get of ``refused`` EPCs.

    A refused batch of N EPCs means the meter takes at most N - 1 (never below 1); the
    limit only ever shrinks. Returns the new limit, or None when it did not change.
    """
    new = max(1, refused - 1)
    if current is None or new < current:
        return new
    return None


class GetPlan:
    """The batches of one ``get()`` call, adjusted as the meter answers.

    Args:
        wanted: the EPCs, without duplicates, in the caller's order.
        limit: the learned cap of EPCs per Get (None: no cap known).
    """

    def __init__(self, wanted: Sequence[int], limit: int | None) -> None:
        self.wanted = tuple(wanted)
        self.limit = limit
        small = [e for e in wanted if e not in LARGE_EPCS]
        size = limit or len(small) or 1
        self._pending: list[list[int]] = [[e] for e in wanted if e in LARGE_EPCS]
        self._pending += [small[i : i + size] for i in range(0, len(small), size)]
        self._retried: set[int] = set()

    def __bool__(self) -> bool:
        return bool(self._pending)

    def next_batch(self) -> list[int]:
        """The next batch to ask for (call only while the plan is true)."""
        return self._pending.pop(0)

    def refused(self, batch: Sequence[int]) -> int | None:
        """The meter refused the whole ``batch`` (of at least 2): split it, learn the cap.

        Returns the new limit when it shrank (for the caller to remember), else None.
        """
        if len(batch) < 2:
            raise ValueError("a single-EPC refusal is an answer, not a cap")
        learned = learn_limit(self.limit, len(batch))
        if learned is not None:
            self.limit = learned
        half = len(batch) // 2
        self._pending[:0] = [list(batch[:half]), list(batch[half:])]
        return learned

    def partial(
        self, batch: Sequence[int], answered: Collection[int], readable: Iterable[int]
    ) -> list[int]:
        """A Get_SNA answered some of ``batch``: the EPCs to take from this answer.

        Readable EPCs (in ``readable``, the Get map) left out are asked once more, each
        alone, before the ones of the current plan; each EPC gets one such second chance.
        """
        allowed = frozenset(readable)
        again = [e for e in batch if e not in answered and e in allowed and e not in self._retried]
        self._retried.update(again)
        self._pending[:0] = [[e] for e in again]
        return [e for e in batch if e not in again]
