"""OCRA, the OATH Challenge-Response Algorithm (RFC 6287), on ``cryptography``'s HMAC.

An OCRA suite (RFC 6287 section 6) reads ``OCRA-1:HOTP-<hash>-<digits>:<data input>``:
``<hash>`` is SHA1, SHA256 or SHA512; ``<digits>`` is 0 (no truncation: the whole
HMAC in hex) or 4..10; the data input is ``[C-]Q<f><nn>[-P<hash>][-S<nnn>][-T<g>]``:
a counter (8 bytes), the challenge question (``QN`` decimal, ``QA`` alphanumeric,
``QH`` hex; 4..64 characters), the hash of a PIN, session information (``nnn``
bytes, 64 by default) and the number of time steps since the epoch (``T1M``,
``T30S``, ``T2H``...). The response is HMAC(key, suite || 0x00 || C || Q || P || S
|| T) truncated as in HOTP (RFC 4226 section 5.3). Verified against RFC 6287's
Appendix C vectors in ``tests/tokens/test_ocra.py``.
"""

from __future__ import annotations

import re
import secrets
import string
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes, hmac

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "SHA1": hashes.SHA1,
    "SHA256": hashes.SHA256,
    "SHA512": hashes.SHA512,
}
#: RFC 6287 section 5.1: the question is padded to 128 bytes.
QUESTION_BYTES = 128
_TIME_UNITS = {"S": 1, "M": 60, "H": 3600}
_DATA_INPUT = re.compile(
    r"^(?P<counter>C-)?Q(?P<format>[ANH])(?P<length>\d\d)"
    r"(?:-P(?P<pin>SHA1|SHA256|SHA512))?"
    r"(?:-S(?P<session>\d\d\d))?"
    r"(?:-T(?P<step>\d{1,2})(?P<unit>[SMH]))?$"
)


class OcraSuiteError(ValueError):
    """The text is no OCRA suite this module computes."""


@dataclass(frozen=True)
class OcraSuite:
    """A parsed OCRA suite (RFC 6287 section 6)."""

    text: str
    hash_name: str
    digits: int
    counter: bool
    question_format: str
    question_length: int
    pin_hash: str | None
    session_length: int | None
    time_step: int | None

    @classmethod
    def parse(cls, text: str) -> OcraSuite:
        parts = text.split(":")
        if len(parts) != 3 or parts[0] != "OCRA-1":
            raise OcraSuiteError(f"not an OCRA-1 suite: {text!r}")
        function = re.fullmatch(r"HOTP-(SHA1|SHA256|SHA512)-(\d{1,2})", parts[1])
        if function is None:
            raise OcraSuiteError(f"unknown crypto function {parts[1]!r}")
        digits = int(function.group(2))
        if digits != 0 and not 4 <= digits <= 10:
            raise OcraSuiteError("the truncation must be 0 or 4..10 digits")
        data = _DATA_INPUT.match(parts[2])
        if data is None:
            raise OcraSuiteError(f"unknown data input {parts[2]!r}")
        length = int(data["length"])
        if not 4 <= length <= 64:
            raise OcraSuiteError("the challenge must be 4..64 characters long")
        step = None
        if data["unit"]:
            count, unit = int(data["step"]), data["unit"]
            # Section 6.3: 1-59 seconds or minutes, 0-48 hours (0 hours is no step).
            if count < 1 or count > (48 if unit == "H" else 59):
                raise OcraSuiteError("the time step is out of range")
            step = count * _TIME_UNITS[unit]
        return cls(
            text=text,
            hash_name=function.group(1),
            digits=digits,
            counter=bool(data["counter"]),
            question_format=data["format"],
            question_length=length,
            pin_hash=data["pin"],
            session_length=int(data["session"]) if data["session"] else None,
            time_step=step,
        )

    def random_question(self) -> str:
        """A challenge of the suite's format and length (``QH`` in lower-case hex)."""
        alphabet = {
            "N": string.digits,
            "A": string.ascii_letters + string.digits,
            "H": "0123456789abcdef",
        }[self.question_format]
        return "".join(secrets.choice(alphabet) for _ in range(self.question_length))

    def valid_question(self, question: str) -> bool:
        if not question or len(question) > self.question_length or not question.isascii():
            return False
        if self.question_format == "N":
            return question.isdigit()
        if self.question_format == "H":
            return all(c in string.hexdigits for c in question)
        return question.isprintable()

    def time_steps(self, now: float) -> int:
        assert self.time_step is not None
        return int(now // self.time_step)


def _question_bytes(suite: OcraSuite, question: str) -> bytes:
    # Section 5.1 and the reference code of Appendix A: a numeric question is
    # converted to hex, a hex question taken as it is; the hex digits are padded on
    # the right with 0 to 256 digits, so an odd count ends in a zero nibble.
    if suite.question_format == "A":
        raw = question.encode()
        return raw + bytes(QUESTION_BYTES - len(raw))
    digits = f"{int(question):X}" if suite.question_format == "N" else question
    return bytes.fromhex(digits.ljust(2 * QUESTION_BYTES, "0"))


def data_input(
    suite: OcraSuite,
    question: str,
    *,
    counter: int | None = None,
    pin: str | None = None,
    session: bytes | None = None,
    timestamp: int | None = None,
) -> bytes:
    """The message RFC 6287 section 5.1 hashes; raises OcraSuiteError when a value
    the suite needs is missing."""
    message = suite.text.encode() + b"\x00"
    if suite.counter:
        if counter is None:
            raise OcraSuiteError("the suite needs a counter")
        message += counter.to_bytes(8, "big")
    message += _question_bytes(suite, question)
    if suite.pin_hash:
        if pin is None:
            raise OcraSuiteError("the suite needs a PIN")
        digest = hashes.Hash(_HASHES[suite.pin_hash]())
        digest.update(pin.encode())
        message += digest.finalize()
    if suite.session_length:
        if session is None:
            raise OcraSuiteError("the suite needs session information")
        message += session[: suite.session_length].ljust(suite.session_length, b"\x00")
    if suite.time_step:
        if timestamp is None:
            raise OcraSuiteError("the suite needs time steps")
        message += timestamp.to_bytes(8, "big")
    return message


def ocra_response(
    key: bytes,
    suite: OcraSuite,
    question: str,
    *,
    counter: int | None = None,
    pin: str | None = None,
    session: bytes | None = None,
    timestamp: int | None = None,
) -> str:
    """The response to ``question`` (RFC 6287 section 5.2); the other inputs are
    those of :func:`data_input` (``timestamp`` in time steps)."""
    mac = hmac.HMAC(key, _HASHES[suite.hash_name]())
    message = data_input(
        suite, question, counter=counter, pin=pin, session=session, timestamp=timestamp
    )
    mac.update(message)
    digest = mac.finalize()
    if suite.digits == 0:
        return digest.hex()
    offset = digest[-1] & 0x0F
    value = int.from_bytes(digest[offset : offset + 4], "big") & 0x7FFFFFFF
    return str(value % 10**suite.digits).zfill(suite.digits)
