"""Configuration of the simulated J11 modules: model presets, timing and J11 faults.

Frozen attrs classes, like the SKSTACK ones: start from a preset and change a knob with
:func:`attrs.evolve`. Points the J11 reference marks as unverified are knobs, with the
believed behaviour as default::

    preset = attrs.evolve(J11Preset.RS_WSUHA_J11, accept_zero_checksum=True)
"""

from __future__ import annotations

from typing import ClassVar

import attrs

from aiobroute.testing._config import NamedTiming, delay_range, probability, spec_items

__all__ = ["J11Faults", "J11Preset", "J11Timing"]


def _key(name: str) -> str:
    return name.upper().replace("-", "_").replace("/", "_").replace(" ", "_")


@attrs.frozen(kw_only=True)
class J11Preset:
    """How one model of J11 (ROHM binary protocol) module behaves on its UART.

    Presets: ``J11Preset.BP35C0_J11``, ``BP35C1_J11``, ``BP35C2_J11``, ``RS_WSUHA_J11``.
    They share the firmware (ID 0x0400, "Enhanced HAN plus B-route Dual stack") and differ
    in version, packaging (bare module with a RESETN pin, or USB dongle) and boot time.

    Attributes:
        name: Model name, for logs and ``--model``.
        aliases: Other names accepted by ``--model`` (``"bp35c1_j11"`` ...).
        firmware_id: Firmware ID of Get version (0x0400).
        version: (major, minor, revision) of Get version.
        usb: A USB dongle (no RESETN pin; only 0x00D9 resets it).
        boot_s: From power-up or 0x00D9 to the 0x6019 boot notification (unverified).
        accept_zero_checksum: Accept a request whose checksum fields are 0x0000
            (note §10.5, unverified; the default rejects them like any wrong checksum).
        header_error_data: Data of the 0x2FFF reply (unverified; probably ``F0``).
        invalid_command_data: Data of the 0xFFFF reply (unverified; probably ``03``).
        scan_response_first: Send 0x2051 before the 0x4051 results (a fake adapter's
            order; the spec sends it after the last one).
        pana_response_without_answer: Send 0x2056 even when the meter never answers (the
            spec draws none in that case; unverified).
        pana_result_first: Send 0x6028 before 0x2056 (hosts report both orders, note
            §10.11; the spec draws 0x2056 first).
        notify_reauth: Send 0x6028 (success) after an automatic re-authentication
            (unverified whether the module does).
        repeat_credentials_result: Result of a second 0x0054 with a session (0x58 seen by
            one host, unverified; default 0x01).
    """

    name: str
    aliases: tuple[str, ...] = ()
    firmware_id: int = 0x0400
    version: tuple[int, int, int] = (1, 3, 0x00000001)
    usb: bool = False
    boot_s: float = 0.5
    accept_zero_checksum: bool = False
    header_error_data: bytes = b"\xf0"
    invalid_command_data: bytes = b"\x03"
    scan_response_first: bool = False
    pana_response_without_answer: bool = True
    pana_result_first: bool = False
    notify_reauth: bool = True
    repeat_credentials_result: int = 0x01

    BP35C0_J11: ClassVar[J11Preset]
    BP35C1_J11: ClassVar[J11Preset]
    BP35C2_J11: ClassVar[J11Preset]
    RS_WSUHA_J11: ClassVar[J11Preset]

    @classmethod
    def all(cls) -> tuple[J11Preset, ...]:
        """Every J11 preset."""
        return (cls.BP35C1_J11, cls.BP35C2_J11, cls.RS_WSUHA_J11, cls.BP35C0_J11)

    @classmethod
    def find(cls, name: str) -> J11Preset | None:
        """The preset called ``name`` (case, ``-`` and ``_`` do not matter), or None."""
        key = _key(name)
        for preset in cls.all():
            if key in {_key(alias) for alias in (preset.name, *preset.aliases)}:
                return preset
        return None

    @classmethod
    def by_name(cls, name: str) -> J11Preset:
        """Look a preset up by model name.

        Raises:
            ValueError: no J11 preset has that name.
        """
        preset = cls.find(name)
        if preset is None:
            names = ", ".join(p.name for p in cls.all())
            raise ValueError(f"unknown J11 module model {name!r}; known: {names}")
        return preset


# Made-up but plausible versions: field modules report 1.3 (J11 note §3.2); the
# BP35C0-J11 evaluation boards in circulation carry older firmware.
J11Preset.BP35C0_J11 = J11Preset(
    name="BP35C0-J11", aliases=("BP35C0_J11",), version=(1, 2, 0x00000005), boot_s=0.5
)
J11Preset.BP35C1_J11 = J11Preset(
    name="BP35C1-J11-T01",
    aliases=("BP35C1_J11", "BP35C1-J11", "WiSUN-HAT-C1"),
    version=(1, 3, 0x00000001),
    boot_s=0.5,
)
J11Preset.BP35C2_J11 = J11Preset(
    name="BP35C2-J11-T01",
    aliases=("BP35C2_J11", "BP35C2-J11"),
    version=(1, 3, 0x00000001),
    usb=True,
    boot_s=1.0,
)
J11Preset.RS_WSUHA_J11 = J11Preset(
    name="RS-WSUHA-J11",
    aliases=("RS_WSUHA_J11", "RSWSUHA_J11"),
    version=(1, 3, 0x00000002),
    usb=True,
    boot_s=1.5,
)


@attrs.frozen(kw_only=True)
class J11Timing(NamedTiming):
    """Delays of a simulated J11 module, in simulated seconds (ranges are seeded-random).

    ``J11Timing.realistic()`` follows the J11 reference (§7): scan dwell 9.64 ms x 2^d per
    channel, 2.5 s beacon timer for 0x0053, ~500 s before a PANA attempt with a silent
    meter gives up. ``J11Timing.instant()`` makes every radio delay zero; the order of the
    output stays the same. The 1 s inter-byte timeout is a protocol constant and applies
    in both.

    Attributes:
        command_s: From a request to its response (a real log: 26 ms).
        scan_unit_s: Dwell unit of an active scan (9.64 ms); per channel unit x 2^d.
        scan_overhead_s: Extra time per scanned channel.
        route_b_s: 0x0053 with the meter in range: until 0x2053.
        beacon_wait_s: 0x0053 without a beacon: until 0x2053 with 0x0E.
        pana_s: A successful PANA authentication: from 0x2056 to 0x6028.
        pana_reject_s: Wrong credentials: until 0x6028 0x02.
        pana_no_answer_s: The meter never answers: until 0x6028 0x03.
        reauth_no_answer_s: 0x00D2 with a meter that never answers.
        tx_s: 0x0008: until 0x2008 (plus ``tx_per_byte_s`` per payload byte: 1232 bytes
            take about 7 s, note §7).
        response_s: The meter's answer after the datagram went out.
        push_jitter_s: Delay of a periodic push after :00/:30.
        ed_scan_s: ED scan time per channel.
        inter_byte_timeout_s: Longest gap between two bytes of a request (1 s).
        boot_factor: Scales the preset's ``boot_s`` (0 in ``instant``).
    """

    command_s: float = 0.02
    scan_unit_s: float = 0.00964
    scan_overhead_s: float = 0.09
    route_b_s: tuple[float, float] = attrs.field(default=(0.2, 0.6), validator=delay_range)
    beacon_wait_s: float = 2.6
    pana_s: tuple[float, float] = attrs.field(default=(2.0, 6.0), validator=delay_range)
    pana_reject_s: float = 8.0
    pana_no_answer_s: float = 492.0
    reauth_no_answer_s: float = 180.0
    tx_s: tuple[float, float] = attrs.field(default=(0.05, 0.3), validator=delay_range)
    tx_per_byte_s: float = 0.005
    response_s: tuple[float, float] = attrs.field(default=(1.0, 3.0), validator=delay_range)
    push_jitter_s: tuple[float, float] = attrs.field(default=(1.0, 60.0), validator=delay_range)
    ed_scan_s: float = 0.32
    inter_byte_timeout_s: float = 1.0
    boot_factor: float = 1.0

    _NOT_DELAYS = frozenset({"inter_byte_timeout_s"})


@attrs.frozen(kw_only=True)
class J11Faults:
    """Faults only a J11 module has (the shared :class:`FaultPlan` covers the rest).

    Attributes:
        route_b_failures: The first this many 0x0053 answer 0x0E (no beacon) even with the
            meter in range.
        no_ack: Share of transmissions to the meter answered with status 0x05 (no ACK);
            the datagram is lost.
        no_ack_first: The first this many transmissions get status 0x05.
        pana_no_answer: The meter never answers PANA (0x6028 0x03 after
            ``pana_no_answer_s``); ECHONET Lite is unaffected.
        silent_module: The module itself is hung: it reads but never writes a byte (not
            even the boot notification). Also settable at runtime with
            :meth:`SimulatedJ11Module.set_hung`.
    """

    route_b_failures: int = 0
    no_ack: float = attrs.field(default=0.0, validator=probability)
    no_ack_first: int = 0
    pana_no_answer: bool = False
    silent_module: bool = False

    @classmethod
    def parse(cls, specs: str | list[str]) -> J11Faults:
        """Build J11 faults from command-line text (several values merge).

        Items are separated by commas: ``route-b-fail=N``, ``no-ack=RATE``,
        ``no-ack-first=N``, ``pana-no-answer``, ``silent-module``.

        Raises:
            ValueError: an item is not understood.
        """
        ints = {"route-b-fail": "route_b_failures", "no-ack-first": "no_ack_first"}
        flags = {"pana-no-answer": "pana_no_answer", "silent-module": "silent_module"}
        values: dict[str, object] = {}
        for item in spec_items(specs):
            key, sep, value = item.partition("=")
            if sep and key in ints:
                values[ints[key]] = int(value)
            elif sep and key == "no-ack":
                values["no_ack"] = float(value)
            elif not sep and key in flags:
                values[flags[key]] = True
            else:
                raise ValueError(f"unknown J11 fault {item!r}")
        return cls(**values)  # type: ignore[arg-type]
