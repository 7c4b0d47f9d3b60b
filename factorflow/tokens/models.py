from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
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


class Challenge(Base):
    """One open question to one token: created when a challenge-response token got its
    PIN (or by ``/validate/triggerchallenge``), answered once with ``transaction_id``.

    All challenges created by one request share one ``transaction_id``. No OTP is
    stored: ``otp_counter`` is the HOTP counter of the value that was sent (None for
    types whose user reads the OTP from the token itself). ``otp_valid`` turns true
    exactly once, by a conditional UPDATE, which makes the answer one-time.
    """

    __tablename__ = "challenge"

    id: Mapped[int] = mapped_column(primary_key=True)
    transaction_id: Mapped[str] = mapped_column(String(64), index=True)
    serial: Mapped[str] = mapped_column(String(64), index=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("token.id", ondelete="CASCADE"), index=True)
    otp_counter: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: privacyIDEA's session marker: "", "enrollment", "challenge_declined", ...
    session: Mapped[str] = mapped_column(String(100), default="")
    expiration: Mapped[datetime] = mapped_column(UtcDateTime)
    #: True once the challenge was answered correctly (privacyIDEA's name).
    otp_valid: Mapped[bool] = mapped_column(Boolean, default=False)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    #: Answers received for this challenge, right or wrong.
    received_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    #: What the type recorded: message, client mode, masked recipient.
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class FidoCredential(Base):
    """The credential id of a WebAuthn or passkey token, as a SHA-256 hash (hex) of
    its raw bytes: a usernameless login (W3C WebAuthn §7.2, the assertion names its
    credential) finds its token through this unique index. The credential id itself
    is the token's encrypted key."""

    __tablename__ = "fido_credential"

    id: Mapped[int] = mapped_column(primary_key=True)
    credential_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("token.id", ondelete="CASCADE"), unique=True)


class FidoChallenge(Base):
    """A challenge of ``/validate/initialize`` (passkeys): made before any user or
    token is known, so it belongs to no token. ``used`` turns true once, by a
    conditional UPDATE, when an assertion answers it."""

    __tablename__ = "fido_challenge"

    id: Mapped[int] = mapped_column(primary_key=True)
    transaction_id: Mapped[str] = mapped_column(String(64), unique=True)
    challenge: Mapped[str] = mapped_column(String(128))
    expiration: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    used: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
