"""The CA connectors and the certificates they issued."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from factorflow.db.base import Base, UtcDateTime, utcnow


class CAConnectorConfig(Base):
    """A configured CA connector (privacyIDEA's ``caconnector``). ``config`` is JSON of
    the type's options; the CA's private key is in ``cakey_enc``, sealed with the
    secret box. ``crl`` is the last CRL signed (PEM), ``crl_number`` its number
    (RFC 5280 section 5.2.3)."""

    __tablename__ = "caconnector"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    catype: Mapped[str] = mapped_column(String(30))
    config: Mapped[str] = mapped_column(Text, default="{}")
    cacert: Mapped[str] = mapped_column(Text, default="")
    cakey_enc: Mapped[str] = mapped_column(Text, default="")
    crl: Mapped[str] = mapped_column(Text, default="")
    crl_number: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class IssuedCertificate(Base):
    """A certificate a connector signed (the local CA's ``index.txt``): its serial
    number in hex, subject and end of validity, and when and why it was revoked."""

    __tablename__ = "caconnector_certificate"
    __table_args__ = (UniqueConstraint("connector_id", "serial"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connector_id: Mapped[int] = mapped_column(
        ForeignKey("caconnector.id", ondelete="CASCADE"), index=True
    )
    serial: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(255), default="")
    not_after: Mapped[datetime] = mapped_column(UtcDateTime)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    reason: Mapped[str] = mapped_column(String(40), default="")
