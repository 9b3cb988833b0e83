"""Module families: the two SKSTACK IP command dialects seen on B-route dongles."""

from __future__ import annotations

import enum

__all__ = ["ModuleFamily"]


class ModuleFamily(enum.Enum):
    """Which SKSTACK IP dialect a module speaks.

    ``BP35A1``: ROHM BP35A1 and Tessera RL7023 Stick-D/IPS ("single-hop" firmware):
    ``SKSCAN mode mask duration``, ``SKSENDTO handle addr port sec len data``,
    EVENT and ERXUDP lines without a SIDE field.

    ``BP35C2``: ROHM BP35C0/BP35C2, RATOC RS-WSUHA-P, Tessera RL7023 Stick-D/DSS
    ("dual stack" firmware): SKSCAN and SKSENDTO take an extra SIDE argument
    (0 = B route), and EVENT, ERXUDP and EPANDESC carry a SIDE field.
    """

    BP35A1 = "bp35a1"
    BP35C2 = "bp35c2"

    @property
    def has_side(self) -> bool:
        """True when commands and events carry the SIDE field."""
        return self is ModuleFamily.BP35C2
