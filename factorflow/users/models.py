from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from factorflow.db.base import Base


class ResolverConfig(Base):
    """A configured user store. ``config`` is JSON; secret fields are encrypted inside it."""

    __tablename__ = "resolver"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    type: Mapped[str] = mapped_column(String(64))
    config: Mapped[str] = mapped_column(Text, default="{}")


class Realm(Base):
    __tablename__ = "realm"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    members: Mapped[list[RealmResolver]] = relationship(
        back_populates="realm", cascade="all, delete-orphan", lazy="selectin"
    )


class RealmResolver(Base):
    __tablename__ = "realm_resolver"
    __table_args__ = (UniqueConstraint("realm_id", "resolver_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    realm_id: Mapped[int] = mapped_column(ForeignKey("realm.id", ondelete="CASCADE"))
    resolver_id: Mapped[int] = mapped_column(ForeignKey("resolver.id", ondelete="CASCADE"))
    priority: Mapped[int | None] = mapped_column(Integer, nullable=True)
    realm: Mapped[Realm] = relationship(back_populates="members")
    resolver: Mapped[ResolverConfig] = relationship(lazy="joined")


class CustomUserAttribute(Base):
    """Attributes Factorflow keeps for a user beside those of the user store."""

    __tablename__ = "custom_user_attribute"
    __table_args__ = (UniqueConstraint("resolver", "user_id", "realm", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resolver: Mapped[str] = mapped_column(String(120))
    user_id: Mapped[str] = mapped_column(String(320))
    realm: Mapped[str] = mapped_column(String(120))
    key: Mapped[str] = mapped_column(String(255))
    value: Mapped[str] = mapped_column(Text, default="")


class UserSettings(Base):
    """The web UI settings of one principal (privacyIDEA 3.14's ``/user/settings``): a
    JSON object, one row per realm user or local admin (``subject_type``)."""

    __tablename__ = "user_settings"
    __table_args__ = (UniqueConstraint("subject_type", "realm", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_type: Mapped[str] = mapped_column(String(16))
    realm: Mapped[str] = mapped_column(String(120))
    name: Mapped[str] = mapped_column(String(320))
    settings: Mapped[str] = mapped_column(Text, default="{}")
