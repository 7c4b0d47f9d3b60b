"""SSH key: an OpenSSH public key handed out to SSH servers (privacyIDEA's sshkey).

The token holds one public key line (``<type> <base64 blob> [comment]``, RFC 4253
section 6.6 for the blob; ``sk-*`` keys as OpenSSH's PROTOCOL.u2f). It never
authenticates through ``/validate/check``: an SSH server fetches the keys of the
tokens attached to it with the ``ssh`` application (``GET /machine/authitem/ssh``)
and lets the client prove possession of the private key itself.
"""

from __future__ import annotations

import base64
import binascii
import struct
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.serialization import load_ssh_public_key
from pydantic import Field

from factorflow.errors import ParameterError
from factorflow.tokens.base import EnrollContext, OtpCheck, TokenInitParams, TokenType

#: The key types an OpenSSH server accepts from a key file, as privacyIDEA's clients
#: send them; DSA keys (refused by OpenSSH since 7.0) are not among them.
KEY_TYPES = frozenset(
    {
        "ssh-rsa",
        "ssh-ed25519",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com",
        "sk-ecdsa-sha2-nistp256@openssh.com",
    }
)
#: An RSA key of 16384 bits in base64 is about 2.8 kB; room for a comment besides.
MAX_LINE = 8192


class SshKeyInitParams(TokenInitParams):
    sshkey: str = Field(
        default="",
        max_length=MAX_LINE,
        title="SSH public key",
        description="One OpenSSH public key line: type, base64 key and an optional comment.",
    )


def _blob_type(blob: bytes) -> str:
    """The key type a wire-format blob starts with (its first SSH string)."""
    if len(blob) < 4:
        return ""
    (length,) = struct.unpack(">I", blob[:4])
    return blob[4 : 4 + length].decode("ascii", errors="replace")


def parse_public_key(line: str) -> tuple[str, str, str]:
    """``(type, base64 blob, comment)`` of a well-formed OpenSSH public key line of an
    accepted type; ParameterError naming what is wrong otherwise. The blob is parsed
    by ``cryptography`` so that a truncated or tampered key is refused at enrolment,
    not when an SSH server meets it."""
    if "\n" in line or "\r" in line or "\0" in line:
        raise ParameterError("The SSH key must be a single line.")
    parts = line.strip().split(None, 2)
    if len(parts) < 2:
        raise ParameterError("The SSH key must be '<type> <base64 key> [comment]'.")
    key_type, encoded = parts[0], parts[1]
    comment = parts[2].strip() if len(parts) == 3 else ""
    if key_type not in KEY_TYPES:
        raise ParameterError(
            f"Unsupported SSH key type {key_type[:40]!r}; supported: {', '.join(sorted(KEY_TYPES))}"
        )
    try:
        blob = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ParameterError("The SSH key is not valid base64.") from None
    if _blob_type(blob) != key_type:
        raise ParameterError(f"The SSH key's data is not a {key_type} key.")
    try:
        load_ssh_public_key(f"{key_type} {encoded}".encode())
    except (ValueError, UnsupportedAlgorithm):
        raise ParameterError(f"The SSH key is not a valid {key_type} key.") from None
    return key_type, encoded, comment


class SshKeyToken(TokenType):
    """An SSH public key. The key line is stored encrypted like every token secret;
    tokeninfo ``ssh_type`` and ``ssh_comment`` describe it."""

    type_name = "sshkey"
    serial_prefix = "SSHK"
    InitParams = SshKeyInitParams
    one_time_values = False
    authenticates = False
    owned_info_keys = TokenType.owned_info_keys | {"ssh_type", "ssh_comment"}

    def enroll(self, params: TokenInitParams, ctx: EnrollContext) -> dict[str, Any]:
        assert isinstance(params, SshKeyInitParams)
        if not params.sshkey.strip():
            raise ParameterError("Missing parameter: 'sshkey'")
        key_type, encoded, comment = parse_public_key(params.sshkey)
        self.store_secret(f"{key_type} {encoded}".encode())
        self.token.otplen = 0
        self.set_info("ssh_type", key_type)
        self.set_info("ssh_comment", comment)
        self.set_info("tokenkind", "software")
        return {}

    def public_key(self) -> str:
        """The key line as an ``authorized_keys`` file holds it, with its comment."""
        line = self.load_secret().decode()
        comment = self.info("ssh_comment")
        return f"{line} {comment}" if comment else line

    def check_otp(self, otp: str, now: float) -> OtpCheck:
        return OtpCheck()
