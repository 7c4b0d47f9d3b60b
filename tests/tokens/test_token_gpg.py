"""GPG-encrypted seed files: a file encrypted to the key in ``<data dir>/gnupg`` is
decrypted and imported; one for another key, or without a key ring, is refused."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import gnupg  # type: ignore[import-untyped]
import pytest
from starlette.testclient import TestClient

from factorflow.bootstrap import Services
from tests.tokens.helpers import RFC4226_OTPS, RFC_KEY_HEX, assert_error, ok
from tests.tokens.test_token_load import accepted, load, token_count

pytestmark = pytest.mark.skipif(
    shutil.which("gpg") is None, reason="needs GnuPG (scripts/install-system)"
)


@pytest.fixture
def homes() -> Iterator[list[Path]]:
    """The key rings made; their gpg-agents are stopped afterwards."""
    made: list[Path] = []
    yield made
    for home in made:
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"], check=False)


def keyring(home: Path, homes: list[Path]) -> tuple[gnupg.GPG, str]:
    """A key ring with one key without passphrase (ed25519/cv25519: quick to make)."""
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    homes.append(home)
    gpg = gnupg.GPG(gnupghome=str(home))
    key = gpg.gen_key(gpg.gen_key_input(key_type="EDDSA", key_curve="ed25519", subkey_type="ECDH",
                                        subkey_curve="cv25519", name_email="seeds@example.org",
                                        no_protection=True))  # fmt: skip
    assert key.fingerprint, key.stderr
    return gpg, str(key.fingerprint)


def encrypt(gpg: gnupg.GPG, fingerprint: str, text: str) -> str:
    sealed = gpg.encrypt(text, [fingerprint], armor=True, always_trust=True)
    assert sealed.ok, sealed.stderr
    return str(sealed)


def test_gpg_encrypted_oath_csv(
    client: TestClient,
    admin_headers: dict[str, str],
    services: Services,
    tmp_path: Path,
    homes: list[Path],
) -> None:
    text = f"GPG1, {RFC_KEY_HEX}\n"
    vendor, other = keyring(tmp_path / "vendor", homes)
    assert_error(load(client, admin_headers, encrypt(vendor, other, text)), 400)  # no key ring
    server, fingerprint = keyring(services.settings.data_dir / "gnupg", homes)
    body = assert_error(load(client, admin_headers, encrypt(vendor, other, text)), 400)
    assert "does not decrypt" in body["result"]["error"]["message"]
    assert token_count(services) == 0
    server_public = server.export_keys(fingerprint)
    vendor.import_keys(server_public)
    ok(load(client, admin_headers, encrypt(vendor, fingerprint, text)))
    assert accepted(client, "GPG1", RFC4226_OTPS[0])
