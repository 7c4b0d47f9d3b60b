"""Revocations of one CA at once: each waits for the one before (the connector row is
locked first), none fails, and the last CRL lists every certificate."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from cryptography import x509
from starlette.testclient import TestClient

from tests import factories
from tests.tokens import pki

H = dict[str, str]
CLIENTS = 6


def test_concurrent_revocations_all_reach_the_crl(
    client: TestClient, admin_headers: H, flatfile_realm: str
) -> None:
    pki.add_local_ca(client, admin_headers)
    serials, numbers = [], []
    for _ in range(CLIENTS):
        csr, _key = pki.request("alice")
        detail = factories.enrol(client, admin_headers, "certificate", ca="localca",
                                 request=csr, user="alice", realm="realm1")  # fmt: skip
        serials.append(str(detail["serial"]))
        numbers.append(x509.load_pem_x509_certificate(detail["certificate"].encode()).serial_number)
    barrier = threading.Barrier(CLIENTS)

    def revoke(serial: str) -> str:
        barrier.wait()
        return str(client.post(f"/token/revoke/{serial}", headers=admin_headers).status_code)

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        statuses = Counter(pool.map(revoke, serials))
    assert statuses == Counter({"200": CLIENTS}), statuses
    crl = pki.crl(client, admin_headers)
    assert sorted(r.serial_number for r in crl) == sorted(numbers)
