from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from factorflow.db.base import Base, UtcDateTime, utcnow
from factorflow.users.models import Realm


class Token(Base):
    __tablename__ = "token"

    id: Mapped[int] = mapped_column(primary_key=True)
    serial: Mapped[str] = mapped_column(String(64), unique=True)
    tokentype: Mapped[str] = mapped_column(String(30), index=True)
    description: Mapped[str] = mapped_column(String(255), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The "locked" flag of privacyIDEA (set by revoke), unrelated to the fail counter.
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    failcount: Mapped[int] = mapped_column(Integer, default=0)
    maxfail: Mapped[int] = mapped_column(Integer, default=10)
    #: HOTP: the next counter expected; TOTP: the last time step used (replay guard).
    otp_counter: Mapped[int] = mapped_column(Integer, default=0)
    count_window: Mapped[int] = mapped_column(Integer, default=10)
    sync_window: Mapped[int] = mapped_column(Integer, default=1000)
    otplen: Mapped[int] = mapped_column(Integer, default=6)
    #: AES-GCM ciphertext of the OTP key (or static password), bound to the serial.
    secret_enc: Mapped[str] = mapped_column(Text, default="")
    pin_hash: Mapped[str] = mapped_column(String(255), default="")
    rollout_state: Mapped[str] = mapped_column(String(20), default="enrolled")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    info: Mapped[list[TokenInfo]] = relationship(
        back_populates="token", cascade="all, delete-orphan", lazy="selectin"
    )
    owner: Mapped[TokenOwner | None] = relationship(
        back_populates="token", cascade="all, delete-orphan", lazy="selectin", uselist=False
    )
    realms: Mapped[list[TokenRealm]] = relationship(
        back_populates="token", cascade="all, delete-orphan", lazy="selectin"
    )
    groups: Mapped[list[TokenGroupMember]] = relationship(
        back_populates="token", cascade="all, delete-orphan", lazy="selectin"
    )


class TokenInfo(Base):
    __tablename__ = "tokeninfo"
    __table_args__ = (UniqueConstraint("token_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("token.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(255))
    value: Mapped[str] = mapped_column(Text, default="")
    type: Mapped[str] = mapped_column(String(100), default="")
    token: Mapped[Token] = relationship(back_populates="info")


class TokenOwner(Base):
    __tablename__ = "tokenowner"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("token.id", ondelete="CASCADE"), unique=True)
    resolver: Mapped[str] = mapped_column(String(120), index=True)
    user_id: Mapped[str] = mapped_column(String(320), index=True)
    realm_id: Mapped[int] = mapped_column(ForeignKey("realm.id", ondelete="CASCADE"))
    token: Mapped[Token] = relationship(back_populates="owner")
    realm: Mapped[Realm] = relationship(lazy="joined")


class TokenRealm(Base):
    __tablename__ = "tokenrealm"
    __table_args__ = (UniqueConstraint("token_id", "realm_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("token.id", ondelete="CASCADE"), index=True)
    realm_id: Mapped[int] = mapped_column(ForeignKey("realm.id", ondelete="CASCADE"))
    token: Mapped[Token] = relationship(back_populates="realms")
    realm: Mapped[Realm] = relationship(lazy="joined")


class TokenGroup(Base):
    __tablename__ = "tokengroup"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str] = mapped_column(String(255), default="")


class TokenGroupMember(Base):
    __tablename__ = "tokentokengroup"
    __table_args__ = (UniqueConstraint("token_id", "tokengroup_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("token.id", ondelete="CASCADE"), index=True)
    tokengroup_id: Mapped[int] = mapped_column(ForeignKey("tokengroup.id", ondelete="CASCADE"))
    token: Mapped[Token] = relationship(back_populates="groups")
    group: Mapped[TokenGroup] = relationship(lazy="joined")
