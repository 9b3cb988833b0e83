"""SmartMeter: the awaitable API of a low-voltage smart electric energy meter (0x028801).

::

    async with SmartMeter("/dev/ttyUSB0", rbid="...", password="...") as meter:
        watts = await meter.instant_power()
        kwh = await meter.cumulative_energy()

The meter talks to its dongle only through a :class:`~aiobroute.link.MeterLink`
(see :mod:`aiobroute.link`), built by one small function (``_links.open_link``).
"""

from __future__ import annotations

from aiobroute.meter._facade import MeterTimeouts, SmartMeter, StreamFactory

__all__ = ["MeterTimeouts", "SmartMeter", "StreamFactory"]
