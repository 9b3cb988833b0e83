"""PANA-looking datagrams (RFC 5191) for the ERXUDP 02CC lines of a simulated join.

Only their shape matters to a B-route client (it must skip them), but they are built
like the real thing: a 16-byte header (reserved, length, flags, type, session id,
sequence number) and AVPs. The first message of a join has exactly the layout of the
real capture in the reference (PRF-Algorithm and Integrity-Algorithm AVPs, 40 bytes),
and the messages of a join are as long as real ones: 0x28, 0x68, 0x54, 0x58 bytes.
"""

from __future__ import annotations

import random

__all__ = ["PanaBuilder"]

_FLAG_REQUEST = 0x8000
_FLAG_START = 0x4000
_FLAG_COMPLETE = 0x2000
_FLAG_REAUTH = 0x1000

_TYPE_AUTH = 2
_TYPE_TERMINATION = 3
_TYPE_NOTIFICATION = 4

_AVP_AUTH = 1
_AVP_EAP_PAYLOAD = 2
_AVP_INTEGRITY_ALGORITHM = 3
_AVP_KEY_ID = 4
_AVP_NONCE = 5
_AVP_PRF_ALGORITHM = 6
_AVP_RESULT_CODE = 7
_AVP_SESSION_LIFETIME = 8
_AVP_TERMINATION_CAUSE = 9

_EAP_REQUEST = 1
_EAP_SUCCESS = 3
_EAP_TYPE_PSK = 47


def _avp(code: int, value: bytes) -> bytes:
    header = code.to_bytes(2, "big") + b"\x00\x00" + len(value).to_bytes(2, "big") + b"\x00\x00"
    padding = b"\x00" * (-len(value) % 4)
    return header + value + padding


class PanaBuilder:
    """Builds the PAA's side of one PANA session (seeded, so output is reproducible)."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self.session_id = rng.getrandbits(32)
        self._seq = rng.getrandbits(32)
        self._eap_id = rng.randrange(256)

    def _message(self, flags: int, msg_type: int, avps: list[bytes]) -> bytes:
        body = b"".join(avps)
        header = (
            b"\x00\x00"
            + (16 + len(body)).to_bytes(2, "big")
            + flags.to_bytes(2, "big")
            + msg_type.to_bytes(2, "big")
            + self.session_id.to_bytes(4, "big")
            + self._seq.to_bytes(4, "big")
        )
        self._seq = (self._seq + 1) & 0xFFFFFFFF
        return header + body

    def _random(self, size: int) -> bytes:
        return bytes(self._rng.getrandbits(8) for _ in range(size))

    def _eap(self, code: int, data: bytes) -> bytes:
        self._eap_id = (self._eap_id + 1) & 0xFF
        return bytes([code, self._eap_id]) + (4 + len(data)).to_bytes(2, "big") + data

    def auth_start(self) -> bytes:
        """PANA-Auth-Request with the S flag: the PAA's answer to PANA-Client-Initiation."""
        return self._message(
            _FLAG_REQUEST | _FLAG_START,
            _TYPE_AUTH,
            [
                _avp(_AVP_PRF_ALGORITHM, (5).to_bytes(4, "big")),
                _avp(_AVP_INTEGRITY_ALGORITHM, (12).to_bytes(4, "big")),
            ],
        )

    def auth_eap(self, step: int) -> bytes:
        """PANA-Auth-Request carrying an EAP-PSK request (``step`` picks its size).

        Step 1 (EAP-PSK first message, with the PAA's nonce) is 0x68 bytes long and the
        later ones (EAP-PSK third message) 0x54, as in real captures.
        """
        psk = bytes([_EAP_TYPE_PSK, 0x00 if step <= 1 else 0x80]) + self._random(
            50 if step <= 1 else 54
        )
        avps = [_avp(_AVP_EAP_PAYLOAD, self._eap(_EAP_REQUEST, psk))]
        if step <= 1:
            avps.insert(0, _avp(_AVP_NONCE, self._random(16)))
        return self._message(_FLAG_REQUEST, _TYPE_AUTH, avps)

    def auth_complete(self, lifetime_s: int) -> bytes:
        """PANA-Auth-Request with the C flag: success, EAP-Success, the session lifetime."""
        return self._message(
            _FLAG_REQUEST | _FLAG_COMPLETE,
            _TYPE_AUTH,
            [
                _avp(_AVP_RESULT_CODE, (0).to_bytes(4, "big")),
                _avp(_AVP_EAP_PAYLOAD, self._eap(_EAP_SUCCESS, b"")),
                _avp(_AVP_KEY_ID, self._random(4)),
                _avp(_AVP_SESSION_LIFETIME, lifetime_s.to_bytes(4, "big")),
                _avp(_AVP_AUTH, self._random(16)),
            ],
        )

    def reauth_answer(self) -> bytes:
        """PANA-Notification-Answer to the PaC's re-authentication request."""
        return self._message(_FLAG_REAUTH, _TYPE_NOTIFICATION, [_avp(_AVP_AUTH, self._random(16))])

    def termination_request(self) -> bytes:
        """PANA-Termination-Request from the PAA (the meter ends the session)."""
        return self._message(
            _FLAG_REQUEST,
            _TYPE_TERMINATION,
            [
                _avp(_AVP_TERMINATION_CAUSE, (4).to_bytes(4, "big")),
                _avp(_AVP_AUTH, self._random(16)),
            ],
        )

    def termination_answer(self) -> bytes:
        """PANA-Termination-Answer to the PaC's termination request."""
        return self._message(0, _TYPE_TERMINATION, [_avp(_AVP_AUTH, self._random(16))])
