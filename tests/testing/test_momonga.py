"""A third-party client, momonga (blocking, thread-based), works against the simulator.

momonga runs in a worker thread of THIS TEST ONLY (``asyncio.to_thread``) over the pty,
while the simulator serves it from the event loop. Its 5-second pauses between requests
are switched off with its ``internal_xmit_interval`` attribute; what remains is its own
2-second wait for silence when it opens the port, so each case takes about 3 seconds.
"""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal

import momonga
import pytest

from aiobroute.echonet import Frame
from aiobroute.testing import ModulePreset, Simulator

pytestmark = pytest.mark.pty


def read_meter(path: str, rbid: str, password: str) -> tuple[int | None, float | None]:
    client = momonga.Momonga(rbid, password, path)
    client.internal_xmit_interval = 0
    with client:
        power = client.get_instantaneous_power()
        energy = client.get_measured_cumulative_energy()
    return power, energy


def answers(sim: Simulator, epc: int) -> list[bytes]:
    """EDTs of every Get_Res the meter sent for ``epc`` (ground truth)."""
    found = []
    for payload in sim.payloads_from_meter:
        frame = Frame.decode(payload)
        if int(frame.esv) == 0x72:
            found += [prop.edt for prop in frame.properties if prop.epc == epc]
    return found


@pytest.mark.parametrize(
    ("preset", "flash_writes"),
    [
        (ModulePreset.BP35A1, 1),  # ROPT says binary: momonga writes WOPT 01 once
        (ModulePreset.RL7023_IPS, 0),  # ROPT is FAIL ER04: momonga assumes hex
        (ModulePreset.BP35C2, 1),
        (ModulePreset.RL7023_DSS, 0),
    ],
    ids=lambda value: getattr(value, "name", str(value)),
)
async def test_momonga_reads_power_and_energy(
    preset: ModulePreset, flash_writes: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="momonga")
    sim = Simulator(preset, timing="instant", seed=5)
    async with sim.pty() as path:
        power, energy = await asyncio.to_thread(read_meter, path, sim.rbid, sim.password)
    served_power = answers(sim, 0xE7)
    served_energy = answers(sim, 0xE0)
    assert served_power
    assert served_energy
    assert power == int.from_bytes(served_power[-1], "big", signed=True)
    assert 0 < power < 20000
    unit = Decimal("0.1")  # MeterConfig default: E1 = 0x01, coefficient 1
    assert Decimal(str(energy)) == int.from_bytes(served_energy[-1], "big") * unit
    assert sim.flash_writes == flash_writes
    family_args = 6 if preset.has_side else 5
    sends = [c for c in sim.commands_received if c.startswith("SKSENDTO")]
    assert sends
    assert all(len(c.split()) == 1 + family_args for c in sends)
    assert sim.commands_received[-1] == "SKTERM"  # momonga closed the session itself
    assert sim.session is None
