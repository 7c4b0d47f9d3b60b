"""A real FreeRADIUS (Debian's ``freeradius``, scripts/install-system) for the tests:
its own configuration directory, one client (127.0.0.1 with :data:`SECRET`), a
``users`` file with the test users, and a ``chal`` user answered with an
Access-Challenge first, listening on a free loopback UDP port.

One server per test process (:func:`running`), started on first use — by the
``freeradius`` fixture or by the token-type contract's adapter — and stopped when
the process exits.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

SECRET = "radius-test-secret-1"
#: User-Name → Cleartext-Password.
USERS = {
    # The contract adapter's user: the whole pass, PIN and OTP, is its password.
    "contract": "c0ntract-pinradius-otp-1",
    "alice": "alice-radius-1",
    "bob": "424242",
}
#: The challenge user: the first request gets CHALLENGE_MESSAGE, the answer CHALLENGE_ANSWER.
CHALLENGE_USER, CHALLENGE_MESSAGE, CHALLENGE_ANSWER = "chal", "Enter the code", "4711"

CONFIG = """\
prefix = /usr
exec_prefix = /usr
sysconfdir = /etc
localstatedir = /var
sbindir = /usr/sbin
logdir = {dir}
raddbdir = {dir}
radacctdir = {dir}
name = freeradius
confdir = {dir}
modconfdir = {dir}
run_dir = {dir}
db_dir = {dir}
libdir = /usr/lib/freeradius
pidfile = {dir}/radiusd.pid
max_request_time = 30
cleanup_delay = 0
max_requests = 1024
hostname_lookups = no
log {{
	destination = stdout
	auth = yes
}}
security {{
	allow_core_dumps = no
	max_attributes = 200
	reject_delay = 0
	status_server = no
}}
proxy_requests = no
client loopback {{
	ipaddr = 127.0.0.1
	secret = {secret}
	require_message_authenticator = yes
}}
thread pool {{
	start_servers = 1
	max_servers = 4
	min_spare_servers = 1
	max_spare_servers = 4
	max_requests_per_server = 0
}}
modules {{
	files {{
		filename = {dir}/users
	}}
	pap {{
	}}
	always handled {{
		rcode = handled
	}}
	always reject {{
		rcode = reject
	}}
}}
server default {{
	listen {{
		type = auth
		ipaddr = 127.0.0.1
		port = {port}
	}}
	authorize {{
		if (&User-Name == "{chal}") {{
			if (!&State) {{
				update reply {{
					&Reply-Message := "{message}"
					&State := 0x73746174652d31
				}}
				update control {{
					&Response-Packet-Type := Access-Challenge
				}}
				handled
			}}
			elsif (&State == 0x73746174652d31 && &User-Password == "{answer}") {{
				update control {{
					&Auth-Type := Accept
				}}
			}}
			else {{
				reject
			}}
		}}
		else {{
			files
			pap
		}}
	}}
	authenticate {{
		Auth-Type PAP {{
			pap
		}}
	}}
	post-auth {{
	}}
}}
"""


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class FreeRadius:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_udp_port()
        self.log = directory / "radiusd.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("freeradius") or "/usr/sbin/freeradius"
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / "radiusd.conf").write_text(
            CONFIG.format(
                dir=self.directory,
                port=self.port,
                secret=SECRET,
                chal=CHALLENGE_USER,
                message=CHALLENGE_MESSAGE,
                answer=CHALLENGE_ANSWER,
            )
        )
        (self.directory / "dictionary").write_text("")
        (self.directory / "users").write_text(
            "".join(f'{user}\tCleartext-Password := "{pw}"\n' for user, pw in USERS.items())
        )
        with self.log.open("wb") as log:
            # -X: one thread, the debug log (why a request was rejected) in radiusd.log.
            self.process = subprocess.Popen(
                [binary, "-X", "-d", str(self.directory)], stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 30
        while "Ready to process requests" not in self.output():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"FreeRADIUS did not start:\n{self.output()[-3000:]}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@functools.cache
def running() -> FreeRadius:
    """This process's FreeRADIUS, started on the first call."""
    directory = Path(tempfile.mkdtemp(prefix="factorflow-radius-"))
    server = FreeRadius(directory)
    atexit.register(shutil.rmtree, directory, True)
    atexit.register(server.stop)
    server.start()
    return server
