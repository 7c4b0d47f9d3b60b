"""Flat-file parsing and reloading, password hash formats, SQL option parsing."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

import pytest
from passlib.hash import bcrypt, md5_crypt, sha256_crypt, sha512_crypt

from factorflow.crypto import Hasher
from factorflow.users.errors import StoreUnavailableError
from factorflow.users.stores.flatfile import FlatFileOptions, FlatFileUserStore, parse_passwd
from factorflow.users.stores.passwords import verify_password
from factorflow.users.stores.sql import SqlOptions, parse_where


def ssha(algorithm: str, password: str, salt: bytes) -> str:
    digest = hashlib.new(algorithm, password.encode() + salt).digest()
    prefix = {"sha1": "{SSHA}", "sha256": "{SSHA256}", "sha512": "{SSHA512}"}[algorithm]
    return prefix + base64.b64encode(digest + salt).decode()


@pytest.mark.parametrize(
    "stored",
    [
        sha512_crypt.hash("pw-1", rounds=5000),
        sha256_crypt.hash("pw-1", rounds=5000),
        md5_crypt.hash("pw-1"),
        bcrypt.using(rounds=4).hash("pw-1"),
        Hasher(1, 1024, 1).hash("pw-1"),
        ssha("sha1", "pw-1", b"saltsalt"),
        ssha("sha256", "pw-1", b"12345678"),
        ssha("sha512", "pw-1", os.urandom(16)),
    ],
)
def test_supported_hash_formats(stored: str) -> None:
    assert verify_password(stored, "pw-1") is True
    assert verify_password(stored, "pw-2") is False
    assert verify_password(stored, "") is False


@pytest.mark.parametrize(
    "stored", ["pw-1", "", "x", "*", "!", "{SSHA256}!!notbase64", "{SSHA256}YWJj", "$6$broken"]
)
def test_plain_or_malformed_hashes_never_verify(stored: str) -> None:
    assert verify_password(stored, "pw-1") is False


def test_gecos_is_read_as_privacyidea_reads_it() -> None:
    text = "\n".join(
        [
            "# comment",
            "",
            "dan:x:7:7:Dan van der Berg,Room 1,+49301,+49171,other,dan@example.org:/home/dan:/bin/sh",
            "eve:*:8:8::/home/eve:/bin/sh",
            "broken line without colons",
            "fay:x:9",
            "dan:x:10:10:Duplicate:/:/bin/sh",
        ]
    )
    records, hashes = parse_passwd(text)
    by_login = {r.login: r for r in reversed(records)}  # the first of duplicates wins
    dan = by_login["dan"].attributes
    assert (dan["givenname"], dan["surname"]) == ("Dan", "van der Berg")
    assert (dan["phone"], dan["mobile"], dan["email"]) == ("+49301", "+49171", "dan@example.org")
    assert by_login["eve"].attributes["givenname"] == ""
    assert by_login["fay"].uid == "9"
    assert hashes == {}
    assert [r.login for r in records] == ["dan", "eve", "fay", "dan"]


def test_flat_file_is_reread_when_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "p"
    path.write_text(f"ann:{sha512_crypt.hash('old-pw', rounds=5000)}:1:1:Ann A:/:/bin/sh\n")
    store = FlatFileUserStore("f", FlatFileOptions.model_validate({"fileName": str(path)}))
    assert store.user_id("ann") == "1"
    assert store.check_password("1", "old-pw") is True
    path.write_text(f"ben:{sha512_crypt.hash('new-pw', rounds=5000)}:2:2:Ben B:/:/bin/sh\n")
    os.utime(path, ns=(1, 1))  # a different mtime even on coarse clocks
    assert store.user_id("ann") is None
    assert store.user_id("ben") == "2"
    assert store.check_password("2", "new-pw") is True
    path.unlink()
    with pytest.raises(StoreUnavailableError):
        store.find("ben")


def test_where_parser() -> None:
    assert parse_where("") == []
    assert parse_where("active == 1 AND role = 'admin' and name like a*") == [
        ("active", "==", "1"),
        ("role", "==", "admin"),
        ("name", "like", "a*"),
    ]
    with pytest.raises(ValueError, match="cannot read"):
        parse_where("1; DROP TABLE x")


def test_privacyidea_connection_fields_map_to_a_url() -> None:
    options = SqlOptions.model_validate(
        {
            "Driver": "mysql+pymysql",
            "Server": "db.example.org",
            "Port": "3306",
            "Database": "users",
            "User": "reader",
            "Password": "p@ss/word",
            "conParams": "charset=utf8mb4",
            "Table": "people",
            "Map": '{"userid": "id", "username": "login"}',
        }
    )
    url = options.connection_url()
    assert (url.drivername, url.host, url.port, url.database) == (
        "mysql+pymysql",
        "db.example.org",
        3306,
        "users",
    )
    assert (url.username, url.password, dict(url.query)) == (
        "reader",
        "p@ss/word",
        {"charset": "utf8mb4"},
    )
