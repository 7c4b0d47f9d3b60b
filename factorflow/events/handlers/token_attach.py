"""The Token handler's ``attach application`` (reference §4.2): attach each handled
token to a machine application through the same use case as ``POST /machine/token``
(:meth:`factorflow.machines.service.MachineService.attach`), with the same checks.

Unlike privacyIDEA, ``service_id`` is passed on (privacyIDEA declares it and drops
it), an option that the chosen application does not use is refused when the
definition is saved, and a machine is named by ``hostname`` or by ``machine ID``
with its machine ``resolver``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from factorflow.errors import FactorflowError
from factorflow.events.errors import ActionError
from factorflow.events.handlers.base import CHOICES, ActionContext, ActionOptions
from factorflow.machines.models import MachineResolverConfig, ServiceId
from factorflow.machines.offline import DEFAULT_COUNT, DEFAULT_ROUNDS
from factorflow.machines.service import AttachRequest, Target
from factorflow.tokens.models import Token

#: The options each application uses besides the machine.
_USES = {
    "ssh": frozenset({"service_id", "user"}),
    "offline": frozenset({"count", "rounds"}),
    "luks": frozenset({"slot", "partition"}),
}


class AttachOptions(ActionOptions):
    application: Literal["ssh", "offline", "luks"] = Field(
        title="Application",
        description="The application",
        json_schema_extra={CHOICES: ["ssh", "offline", "luks"]},
    )
    machine_id: str = Field(
        title="Machine ID",
        default="",
        alias="machine ID",
        max_length=255,
        description="The machine's id in its machine resolver (with resolver)",
    )
    resolver: str = Field(
        title="Machine resolver", default="", max_length=120, description="The machine resolver"
    )
    hostname: str = Field(
        title="Hostname", default="", max_length=255, description="Or the machine's hostname"
    )
    service_id: str = Field(
        title="Service ID", default="", max_length=120, description="ssh: the service id"
    )
    user: str = Field(
        title="SSH account",
        default="",
        max_length=120,
        pattern=r"^[^\s:]*$",
        description="ssh: the account on the SSH server (default root)",
    )
    count: int | None = Field(
        title="Offline OTP values",
        default=None,
        ge=1,
        le=1000,
        description=f"offline: OTP values (default {DEFAULT_COUNT})",
    )
    rounds: int | None = Field(
        title="PBKDF2 rounds",
        default=None,
        ge=1000,
        le=1_000_000,
        description=f"offline: PBKDF2 rounds of each value (default {DEFAULT_ROUNDS})",
    )
    slot: int | None = Field(
        title="LUKS key slot", default=None, ge=0, le=31, description="luks: the key slot"
    )
    partition: str = Field(
        title="LUKS partition", default="", max_length=255, description="luks: the partition"
    )

    @model_validator(mode="after")
    def _consistent(self) -> AttachOptions:
        unused = sorted(
            name for name in ("service_id", "user", "count", "rounds", "slot", "partition")
            if getattr(self, name) not in (None, "") and name not in _USES[self.application]
        )  # fmt: skip
        if unused:
            raise ValueError(f"the application {self.application} takes no {', '.join(unused)}")
        if bool(self.machine_id) != bool(self.resolver):
            raise ValueError("'machine ID' and 'resolver' go together")
        if self.machine_id and self.hostname:
            raise ValueError("name the machine by hostname or by machine ID, not both")
        if self.application == "ssh" and not (self.service_id or self.machine_id or self.hostname):
            raise ValueError("the application ssh needs a service_id or a machine")
        return self

    def link_options(self) -> dict[str, str]:
        values = {name: getattr(self, name) for name in _USES[self.application]}
        return {k: str(v) for k, v in values.items() if v not in (None, "")}


def check_attach_references(session: Session, options: AttachOptions) -> None:
    """On save: the machine resolver and the service id the definition names exist."""
    if (
        options.resolver
        and session.scalar(
            select(MachineResolverConfig.id).where(MachineResolverConfig.name == options.resolver)
        )
        is None
    ):
        raise ValueError(f"Invalid option 'resolver': no machine resolver {options.resolver!r}")
    if (
        options.service_id
        and session.scalar(select(ServiceId.id).where(ServiceId.name == options.service_id)) is None
    ):
        raise ValueError(f"Invalid option 'service_id': no service id {options.service_id!r}")


def attach(ctx: ActionContext, options: AttachOptions, token: Token) -> None:
    target = Target(options.hostname, options.machine_id, options.resolver)
    req = AttachRequest(token.serial, options.application, target, options.link_options())
    try:
        ctx.ports.machines.attach(ctx.session, req)
    except FactorflowError as exc:
        raise ActionError(f"{token.serial}: {exc.message}") from None
