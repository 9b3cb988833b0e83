"""Configuration values of the simulated module: model presets, timing, radio, PANs.

Everything here is a frozen attrs class, so a test can start from a preset and change
one knob with :func:`attrs.evolve`::

    preset = attrs.evolve(ModulePreset.BP35A1, default_hex=True, sendto_lone_crlf=1.0)
"""

from __future__ import annotations

from typing import ClassVar, Literal

import attrs

from aiobroute.skstack._dialect import ModuleFamily
from aiobroute.testing._config import NamedTiming, delay_range, probability

__all__ = [
    "BP35C2_MODULE_MAC",
    "DEFAULT_MODULE_MAC",
    "ModulePreset",
    "PanConfig",
    "RadioConfig",
    "SendRefusal",
    "Timing",
]

#: What SKSENDTO does when it cannot send: ``"fail"`` answers ``FAIL ER10``,
#: ``"event"`` prints ``EVENT 21 <dest> 01`` then ``OK``.
SendRefusal = Literal["fail", "event"]

#: MAC address of a simulated BP35A1-family module (ROHM's OUI 00:1D:12, as in smdn's
#: fixtures: link-local ``…:021D:1290:1234:5678``).
DEFAULT_MODULE_MAC = "001D129012345678"
#: MAC address of a simulated BP35C2-family module: an EUI-48 expanded with ``FFFE``
#: (link-local ``…:1207:23FF:FE12:3456``), the shape of the captures of newer dongles,
#: not ROHM's BP35A1 prefix. The exact vendor prefix is unverified.
BP35C2_MODULE_MAC = "100723FFFE123456"


@attrs.frozen(kw_only=True)
class ModulePreset:
    """How one model of Wi-SUN module behaves on its UART.

    Use the presets (``ModulePreset.BP35A1``, ``RL7023_IPS``, ``BP35C2``, ``RS_WSUHA_P``,
    ``RL7023_DSS``) and :func:`attrs.evolve` them to change a knob. Points the reference
    marks as unverified are knobs, with the believed behaviour as default.

    Attributes:
        name: Model name, for logs and ``--model``.
        family: The command dialect (SIDE argument and SIDE fields on the BP35C2 family).
        version: What ``SKVER`` prints after ``EVER``.
        app_version: What ``SKAPPVER`` prints after ``EAPPVER``; None: ``FAIL ER04``.
        product_commands: ROPT/WOPT/RUART/WUART exist; False: they answer ``FAIL ER04``.
        product_cr_only: Their answers (and echoes) end with a lone CR.
        default_hex: Factory ERXUDP format (flash): True ASCII hex, False raw binary.
            Models without product commands print what this says, forever.
        sendto_lone_crlf: Probability that SKSENDTO with echo off prints a lone CRLF
            before its events (1.0 always, 0.0 never, otherwise seeded-random).
        sa2_rssi: ``SKSREG SA2 1`` adds an RSSI field to ERXUDP (BP35C2 family); when
            False the register is accepted and ignored.
        eedscan_blank_line: An empty line follows the EEDSCAN block (BP35A1 1.2.10).
            (BP35C2-family modules put the SIDE before the EEDSCAN pairs.)
        module_mac: The module's own MAC address (BP35C2-family modules have their own
            prefix).
        beacon_min_duration: The smallest active-scan DURATION at which the meter is
            heard with this model's radio (real logs: 6 on a BP35A1, 5 on a BP35C2);
            :class:`RadioConfig` can override it.
        eport_extra_ports: The extra port lines SKTABLE E prints after an empty line.
        erxudp_secured_field: ERXUDP carries the SECURED field (False: 2015 firmware).
        tx_limited_send: SKSENDTO while the ARIB limit is active.
        no_session_send: SKSENDTO with SEC=1 to a peer without a PANA session.
    """

    name: str
    family: ModuleFamily
    version: str
    app_version: str | None
    product_commands: bool = True
    product_cr_only: bool = True
    default_hex: bool = False
    sendto_lone_crlf: float = attrs.field(default=0.5, validator=probability)
    sa2_rssi: bool = False
    eedscan_blank_line: bool = False
    module_mac: str = DEFAULT_MODULE_MAC
    beacon_min_duration: int = 6
    eport_extra_ports: tuple[int, ...] = ()
    erxudp_secured_field: bool = True
    tx_limited_send: SendRefusal = "fail"
    no_session_send: SendRefusal = "fail"

    BP35A1: ClassVar[ModulePreset]
    RL7023_IPS: ClassVar[ModulePreset]
    BP35C2: ClassVar[ModulePreset]
    RS_WSUHA_P: ClassVar[ModulePreset]
    RL7023_DSS: ClassVar[ModulePreset]

    @property
    def has_side(self) -> bool:
        """True when commands and output carry the SIDE field (BP35C2 family)."""
        return self.family.has_side

    @property
    def einfo_field5(self) -> str:
        """The fifth EINFO field: ``FFFE`` (short address) or the SIDE ``0``."""
        return "0" if self.has_side else "FFFE"

    @classmethod
    def by_name(cls, name: str) -> ModulePreset:
        """Look a preset up by model name (case, ``-`` and ``_`` do not matter).

        Raises:
            ValueError: no preset has that name.
        """
        key = name.upper().replace("-", "_").replace("/", "_")
        for preset in cls.all():
            if preset.name.upper().replace("-", "_").replace("/", "_") == key:
                return preset
        names = ", ".join(preset.name for preset in cls.all())
        raise ValueError(f"unknown module model {name!r}; known: {names}")

    @classmethod
    def all(cls) -> tuple[ModulePreset, ...]:
        """Every preset, BP35A1 family first."""
        return (cls.BP35A1, cls.RL7023_IPS, cls.BP35C2, cls.RS_WSUHA_P, cls.RL7023_DSS)


ModulePreset.BP35A1 = ModulePreset(
    name="BP35A1",
    family=ModuleFamily.BP35A1,
    version="1.2.10",
    app_version="rev26e",
    default_hex=False,
    sendto_lone_crlf=0.5,
    eedscan_blank_line=True,
    eport_extra_ports=(3610, 0, 0, 0),
)
# The RL7023 sticks: the ROHM model of their family without the product commands,
# printing hex ERXUDP payloads.
ModulePreset.RL7023_IPS = attrs.evolve(
    ModulePreset.BP35A1, name="RL7023_IPS", product_commands=False, default_hex=True
)
ModulePreset.BP35C2 = ModulePreset(
    name="BP35C2",
    family=ModuleFamily.BP35C2,
    version="1.5.2",
    app_version="rev15",
    default_hex=False,
    sendto_lone_crlf=1.0,
    sa2_rssi=True,
    module_mac=BP35C2_MODULE_MAC,
    beacon_min_duration=5,
)
# One was seen answering ROPT with "OK 01": shipped with hex ERXUDP payloads (evolve
# with default_hex=False, or ``--erxudp binary``, for the binary ones).
ModulePreset.RS_WSUHA_P = attrs.evolve(ModulePreset.BP35C2, name="RS-WSUHA-P", default_hex=True)
ModulePreset.RL7023_DSS = attrs.evolve(
    ModulePreset.BP35C2,
    name="RL7023_DSS",
    app_version=None,
    product_commands=False,
    default_hex=True,
)


@attrs.frozen(kw_only=True)
class Timing(NamedTiming):
    """Delays of the simulated radio, in simulated seconds (ranges are seeded-random).

    ``Timing.realistic()`` follows the reference: scans by the SKSCAN formula, joins of a
    few seconds, meter answers after 1-3 s, EVENT 21 within about 100 ms.
    ``Timing.instant()`` sets every delay to zero (for unit tests); the order of the output
    stays the same.

    Attributes:
        command_s: Between a command's echo and its answer.
        reset_s: SKRESET: between OK and the moment the module reads input again.
        tx_s: SKSENDTO: from the command to EVENT 21.
        response_s: Meter answer latency after the datagram went out.
        join_step_s: Between two PANA messages of a join.
        join_fail_s: Wrong credentials: from the last PANA message to EVENT 24.
        join_unreachable_s: No answer at all (wrong channel/PAN/address): to EVENT 24.
        termination_s: SKTERM: until EVENT 27 (or EVENT 28 for a silent meter).
        push_jitter_s: Delay of a periodic push after :00/:30.
        ping_s: SKPING round trip.
        scan_slot_s: The SKSCAN time unit (9.6 ms); per channel ``slot x (2^D + 1)``.
            Zero makes scans instant.
    """

    command_s: float = 0.005
    reset_s: float = 0.3
    tx_s: tuple[float, float] = attrs.field(default=(0.03, 0.1), validator=delay_range)
    response_s: tuple[float, float] = attrs.field(default=(1.0, 3.0), validator=delay_range)
    join_step_s: tuple[float, float] = attrs.field(default=(0.2, 0.8), validator=delay_range)
    join_fail_s: float = 25.0
    join_unreachable_s: float = 38.0
    termination_s: float = 0.5
    push_jitter_s: tuple[float, float] = attrs.field(default=(1.0, 60.0), validator=delay_range)
    ping_s: float = 0.2
    scan_slot_s: float = 0.0096


@attrs.frozen(kw_only=True)
class RadioConfig:
    """Airtime accounting (ARIB STD-T108) and reception knobs.

    Attributes:
        bitrate_bps: PHY bit rate (100 kbit/s on the B route).
        frame_overhead_bytes: Bytes added to each UDP payload on air (PHY preamble/SFD/PHR,
            MAC header, security header and MIC, 6LoWPAN/UDP headers, FCS).
        tx_budget_s: Transmit time allowed per rolling window (360 s per hour is the
            figure usually quoted, unverified).
        tx_window_s: The rolling window.
        beacon_min_duration: Active scans with a smaller DURATION hear no beacon; None
            takes the module preset's (6 for the BP35A1 family, 5 for the BP35C2 family).
        beacon_miss: Chance (seeded) that an active scan at an audible DURATION still
            hears no beacon, as when the meter's beacon is lost to noise.
        neighbor_cache: SKJOIN and SKADDNBR fill the neighbour cache, so later sends need no
            neighbour solicitation (``EVENT 21 … 02`` shows only on a first send).
    """

    bitrate_bps: int = 100_000
    frame_overhead_bytes: int = 60
    tx_budget_s: float = 360.0
    tx_window_s: float = 3600.0
    beacon_min_duration: int | None = None
    beacon_miss: float = attrs.field(default=0.0, validator=probability)
    neighbor_cache: bool = True

    def airtime_s(self, payload_len: int) -> float:
        """Seconds on air of one frame carrying ``payload_len`` bytes of UDP payload."""
        return (payload_len + self.frame_overhead_bytes) * 8 / self.bitrate_bps


@attrs.frozen(kw_only=True)
class PanConfig:
    """A PAN in radio range: a smart meter acting as PANA authentication agent.

    Attributes:
        mac: The meter's 64-bit MAC address (EPANDESC ``Addr``).
        channel: Logical channel, 0x21..0x3C.
        pan_id: PAN ID.
        lqi: Link quality of its frames as the module hears them.
        pair_id: EPANDESC ``PairID``; None: the last 8 characters of the B-route ID.
        accepts_our_credentials: False for a neighbour's meter (EVENT 24 on join).
    """

    mac: str = "12345678ABCDEF01"
    channel: int = 0x21
    pan_id: int = 0x8888
    lqi: int = 0xA8
    pair_id: str | None = None
    accepts_our_credentials: bool = True

    #: A neighbour's meter: another PairID, a better LQI, and our credentials fail there.
    NEIGHBOUR: ClassVar[PanConfig]


PanConfig.NEIGHBOUR = PanConfig(
    mac="0011223344556677",
    channel=0x3B,
    pan_id=0x4321,
    lqi=0xE8,
    pair_id="F00DCAFE",
    accepts_our_credentials=False,
)
