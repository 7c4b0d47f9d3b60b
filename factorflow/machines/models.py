from __future__ import annotations

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from factorflow.db.base import Base
from factorflow.tokens.models import Token


class MachineResolverConfig(Base):
    """A configured machine resolver (privacyIDEA's ``machineresolver``). ``config`` is
    JSON of the type's option names; secret options are encrypted inside it."""

    __tablename__ = "machineresolver"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    type: Mapped[str] = mapped_column(String(64))
    config: Mapped[str] = mapped_column(Text, default="{}")


class ServiceId(Base):
    """A service (``mail``, ``webservers``) whose SSH servers fetch the keys attached to
    it, privacyIDEA 3.10's ``serviceid``."""

    __tablename__ = "serviceid"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str] = mapped_column(String(255), default="")


class MachineToken(Base):
    """A token attached to an application, on one machine (``machine_id`` within the
    machine resolver) or on none (ssh keys attached to a service id, offline tokens
    for any machine), privacyIDEA's ``machinetoken``. Its options are the
    application's parameters (``user``, ``service_id``, ``count``, ``rounds``...)."""

    __tablename__ = "machinetoken"
    __table_args__ = (Index("ix_machinetoken_machine", "machineresolver_id", "machine_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("token.id", ondelete="CASCADE"), index=True)
    machineresolver_id: Mapped[int | None] = mapped_column(
        ForeignKey("machineresolver.id", ondelete="CASCADE"), nullable=True
    )
    machine_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    application: Mapped[str] = mapped_column(String(64), index=True)

    token: Mapped[Token] = relationship(lazy="joined")
    resolver: Mapped[MachineResolverConfig | None] = relationship(lazy="joined")
    options: Mapped[list[MachineTokenOption]] = relationship(
        back_populates="link", cascade="all, delete-orphan", lazy="selectin"
    )


class MachineTokenOption(Base):
    __tablename__ = "machinetokenoptions"
    __table_args__ = (UniqueConstraint("machinetoken_id", "mt_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    machinetoken_id: Mapped[int] = mapped_column(
        ForeignKey("machinetoken.id", ondelete="CASCADE"), index=True
    )
    mt_key: Mapped[str] = mapped_column(String(64))
    mt_value: Mapped[str] = mapped_column(String(255), default="")
    link: Mapped[MachineToken] = relationship(back_populates="options")
