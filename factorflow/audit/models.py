"""The audit log's tables: one signed entry per request and per event action, and
the head of the hash chain they form."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import BigInteger, Boolean, Double, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column

from factorflow.db.base import Base, UtcDateTime, utcnow

#: privacyIDEA's column lengths; values are truncated to them before insert.
COLUMN_LENGTHS = {
    "action": 200,
    "authentication": 12,
    "serial": 200,
    "token_type": 12,
    "user": 100,
    "realm": 255,
    "resolver": 255,
    "administrator": 100,
    "action_detail": 500,
    "info": 500,
    "privacyidea_server": 255,
    "client": 50,
    "user_agent": 50,
    "user_agent_version": 20,
    "policies": 255,
    "request_id": 32,
}


class AuditEntry(Base):
    __tablename__ = "audit"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    date: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    startdate: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    duration: Mapped[float] = mapped_column(Double, default=0.0)
    action: Mapped[str] = mapped_column(String(200), default="")
    success: Mapped[bool] = mapped_column(Boolean, default=False)
    authentication: Mapped[str] = mapped_column(String(12), default="")
    serial: Mapped[str] = mapped_column(String(200), default="", index=True)
    token_type: Mapped[str] = mapped_column(String(12), default="")
    user: Mapped[str] = mapped_column(String(100), default="", index=True)
    realm: Mapped[str] = mapped_column(String(255), default="")
    resolver: Mapped[str] = mapped_column(String(255), default="")
    administrator: Mapped[str] = mapped_column(String(100), default="")
    action_detail: Mapped[str] = mapped_column(String(500), default="")
    info: Mapped[str] = mapped_column(String(500), default="")
    privacyidea_server: Mapped[str] = mapped_column(String(255), default="")
    client: Mapped[str] = mapped_column(String(50), default="")
    user_agent: Mapped[str] = mapped_column(String(50), default="")
    user_agent_version: Mapped[str] = mapped_column(String(20), default="")
    policies: Mapped[str] = mapped_column(String(255), default="")
    #: Links the entries of event actions to the entry of the request that caused them.
    request_id: Mapped[str] = mapped_column(String(32), default="", index=True)
    #: Dry-run / condition trace of an event action (JSON), empty for requests.
    trace: Mapped[str] = mapped_column(Text, default="")
    #: HMAC-SHA256 over the canonical entry (and, in the chain, its sequence number and the
    #: previous signature), hex; ``factorflow audit verify`` checks it.
    signature: Mapped[str] = mapped_column(String(128), default="")


#: The audit table for Core statements (bulk insert, streaming reads).
AUDIT_TABLE = cast(Table, AuditEntry.__table__)


class AuditChainHead(Base):
    """The newest point of the audit hash chain (one row, id 1), signed with the audit
    key; writers lock it to claim the next sequence numbers (see ``audit/chain.py``)."""

    __tablename__ = "audit_chain"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    #: Id of the last entry written before the chain; entries up to it are not chained.
    genesis: Mapped[int] = mapped_column(BigInteger, default=0)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    hash: Mapped[str] = mapped_column(String(128), default="")
    #: HMAC over (genesis, seq, hash); empty only in the state the migration left.
    signature: Mapped[str] = mapped_column(String(128), default="")


AUDIT_CHAIN_TABLE = cast(Table, AuditChainHead.__table__)
