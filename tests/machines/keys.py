"""OpenSSH public keys for the machine tests (made with ssh-keygen; the sk-* keys are
built from an Ed25519 / P-256 point as OpenSSH's PROTOCOL.u2f lays them out)."""

from __future__ import annotations

import base64
import struct

ED25519 = (
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINBRzTZul2eZqRaYXrEaMkN79N+5WsES7VWfjKbF0Mqq alice@laptop"
)
ECDSA = (
    "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBC31W4Iti8YjD8eByNsx8IR"
    "ZCIQxwrQFuoNGtO6XdYlhX+aPR4IAzErhDarD0QcKaMm0E2ZD5vG4/53m1w29efY="
)

RSA = (
    "ssh-rsa "
    "AAAAB3NzaC1yc2EAAAADAQABAAABAQDCSTR1B2CakAFqJMqEcgj+PD310ZZa45bsxt/mLAbE55RQ/skx3PCcqr3i"
    "0k4JehLiSOE2FXehYUb5mZewzHUPrpADufbhyevEhRwI8m8GWZHKQoEsajT6GNhKveGhz+BjDxVYFYmUfU3g5F+/"
    "/lyCKYi5w3IwzSC9jnOlq1GAHUDq64tD1wvctWNnKrInKgDvyxWjcFv63NUdPyZvAnwVQopmI9o+jmV651WNUA3u"
    "iB/Lw+pTEeDlF2A9qallohdkJfGv+ZXiSKdpm3S0LBBbereG03OXiTZAugkcEscGqSrZt+/bm86876oiEW5Ojsub"
    "OUMAoPwZ1w9okfjD51H/"
    " rsa key"
)


def _string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def _sk_ed25519() -> str:
    point = base64.b64decode(ED25519.split()[1])[-32:]
    name = b"sk-ssh-ed25519@openssh.com"
    blob = _string(name) + _string(point) + _string(b"ssh:")
    return f"{name.decode()} {base64.b64encode(blob).decode()} yubikey"


def _sk_ecdsa() -> str:
    blob = base64.b64decode(ECDSA.split()[1])
    point = blob[4 + 19 + 4 + 8 + 4 :]
    name = b"sk-ecdsa-sha2-nistp256@openssh.com"
    sk = _string(name) + _string(b"nistp256") + _string(point) + _string(b"ssh:")
    return f"{name.decode()} {base64.b64encode(sk).decode()}"


SK_ED25519 = _sk_ed25519()
SK_ECDSA = _sk_ecdsa()
