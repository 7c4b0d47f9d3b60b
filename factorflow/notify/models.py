"""Stored SMTP server and SMS gateway configurations, looked up by identifier."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from factorflow.db.base import Base, UtcDateTime, utcnow


class SmtpServer(Base):
    __tablename__ = "smtp_server"

    id: Mapped[int] = mapped_column(primary_key=True)
    identifier: Mapped[str] = mapped_column(String(120), unique=True)
    server: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer, default=25)
    #: Implicit TLS from the first byte (SMTPS, usually port 465).
    tls: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Upgrade a plain connection with STARTTLS (usually port 587).
    starttls: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Verify the server's certificate against the system CAs when TLS is used.
    tls_verify: Mapped[bool] = mapped_column(Boolean, default=True)
    username: Mapped[str] = mapped_column(String(255), default="")
    #: SecretBox ciphertext bound to ``smtpserver:<identifier>:password``; "" for none.
    password: Mapped[str] = mapped_column(Text, default="")
    sender: Mapped[str] = mapped_column(String(255))
    timeout: Mapped[float] = mapped_column(Float, default=10.0)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class SmsGateway(Base):
    """An HTTP SMS gateway. ``parameters`` maps request parameter names to templates
    in which ``{phone}`` and ``{otp}`` / ``{message}`` are replaced at send time."""

    __tablename__ = "sms_gateway"

    id: Mapped[int] = mapped_column(primary_key=True)
    identifier: Mapped[str] = mapped_column(String(120), unique=True)
    module: Mapped[str] = mapped_column(String(64), default="http")
    url: Mapped[str] = mapped_column(Text)
    method: Mapped[str] = mapped_column(String(8), default="POST")
    #: POST only: send the parameters as a JSON object instead of a form.
    json_body: Mapped[bool] = mapped_column(Boolean, default=False)
    parameters: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    headers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    #: A response counts as success when its status lies in this range and, if set,
    #: ``success_regex`` is found in its body.
    success_status_min: Mapped[int] = mapped_column(Integer, default=200)
    success_status_max: Mapped[int] = mapped_column(Integer, default=299)
    success_regex: Mapped[str] = mapped_column(Text, default="")
    tls_verify: Mapped[bool] = mapped_column(Boolean, default=True)
    timeout: Mapped[float] = mapped_column(Float, default=10.0)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
