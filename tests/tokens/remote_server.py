"""The second Factorflow that ``remote`` tokens forward to (tests/federation/remote.py:
a real ``factorflow serve`` process on a loopback port), one per test process, started
on first use — by a test's fixture or by the token-type contract's adapter — and
stopped when the process exits.

It has user ``dave`` in realm ``fedrealm`` with a ``pw`` token: PIN :data:`REMOTE_PIN`,
password :data:`REMOTE_PASSWORD`, so ``REMOTE_PIN + REMOTE_PASSWORD`` is accepted
there as often as it is sent, and nothing else.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

from tests.federation.remote import REMOTE_REALM, RemoteFactorflow

#: The contract's PIN: the whole pass (PIN + OTP) is forwarded and checked there.
REMOTE_PIN = "c0ntract-pin"
REMOTE_PASSWORD = "remote-otp-1"
REMOTE_USER = "dave"


@functools.cache
def shared_remote() -> tuple[RemoteFactorflow, str]:
    """This process's remote Factorflow and the serial of dave's ``pw`` token there."""
    directory = Path(tempfile.mkdtemp(prefix="factorflow-remote-"))
    server = RemoteFactorflow(directory)
    atexit.register(shutil.rmtree, directory, True)
    atexit.register(server.stop)
    server.start()
    server.provision()
    body = server.call("POST", "/token/init", admin=True, type="pw", otpkey=REMOTE_PASSWORD,
                       pin=REMOTE_PIN, user=REMOTE_USER, realm=REMOTE_REALM)  # fmt: skip
    return server, str(body["detail"]["serial"])
