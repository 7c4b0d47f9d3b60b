"""hosts: machines from a file in the format of ``/etc/hosts`` (hosts(5)).

Each line is an IP address, the canonical hostname and optional aliases; ``#`` starts
a comment. The machine id is the IP address, as in privacyIDEA's hosts resolver; an
address on several lines is one machine under its first line's names. A hostname
filter matches the canonical name or an alias. The file is read on
every lookup, so an edit takes effect at once.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

from pydantic import Field

from factorflow.errors import ParameterError
from factorflow.machines.base import Machine, MachineFilter, MachineResolver, MachineResolverOptions
from factorflow.machines.errors import MachineResolverError

#: A hosts file larger than this is refused rather than read into every request.
MAX_FILE_BYTES = 4 * 1024 * 1024


class HostsOptions(MachineResolverOptions):
    filename: str = Field(
        alias="filename",
        min_length=1,
        max_length=1024,
        title="Hosts file",
        description="The path of a file in /etc/hosts format: ip hostname aliases.",
    )


def parse_hosts(text: str, resolver: str) -> list[Machine]:
    """The machines of a hosts file; malformed lines (no valid address, no name) are
    skipped, as the resolver library skips them."""
    by_ip: dict[str, tuple[str, tuple[str, ...]]] = {}
    for raw in text.splitlines():
        fields = raw.split("#", 1)[0].split()
        if len(fields) < 2:
            continue
        try:
            ip = str(ipaddress.ip_address(fields[0]))
        except ValueError:
            continue
        if ip not in by_ip:
            by_ip[ip] = (fields[1], tuple(fields[2:]))
    return [
        Machine(resolver, ip, hostname, (ip,), aliases) for ip, (hostname, aliases) in by_ip.items()
    ]


class HostsMachineResolver(MachineResolver):
    type_name = "hosts"
    description = "Machines from a hosts file (ip hostname aliases)"
    Options = HostsOptions

    @property
    def path(self) -> Path:
        assert isinstance(self.options, HostsOptions)
        return Path(self.options.filename)

    def _read(self) -> str:
        try:
            with self.path.open("rb") as handle:
                data = handle.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise MachineResolverError(
                f"Machine resolver {self.name!r}: cannot read the hosts file "
                f"{str(self.path)[:200]!r} ({exc.strerror or type(exc).__name__})"
            ) from None
        if len(data) > MAX_FILE_BYTES:
            raise MachineResolverError(f"Machine resolver {self.name!r}: the hosts file is too big")
        return data.decode("utf-8", errors="replace")

    def verify_config(self) -> None:
        if not self.path.is_absolute():
            raise ParameterError("Invalid option 'filename': the path must be absolute")
        self._read()

    def machines(self, wanted: MachineFilter) -> list[Machine]:
        return [m for m in parse_hosts(self._read(), self.name) if wanted.matches(m)]
