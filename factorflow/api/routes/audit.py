"""GET /audit/: search the audit log (admins only)."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from factorflow.api.routing import Routes
from factorflow.audit.models import AuditEntry
from factorflow.audit.service import SEARCHABLE, EntryCheck
from factorflow.core.invocation import Outcome
from factorflow.errors import ParameterError
from factorflow.pipeline import Access, Call

routes = Routes("audit")

_TIMELIMIT = re.compile(r"^(\d{1,6})([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_timelimit(value: str) -> timedelta:
    match = _TIMELIMIT.match(value.strip())
    if not match:
        raise ParameterError(f"Invalid timelimit {value!r}: use a number and s, m, h or d, e.g. 7d")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


class AuditParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    page: int = Field(default=1, ge=1, le=1_000_000)
    page_size: int = Field(default=15, ge=1, le=1000)
    sortorder: Literal["asc", "desc"] = "desc"
    timelimit: str = Field(default="", max_length=20)

    @field_validator("timelimit")
    @classmethod
    def _check_timelimit(cls, value: str) -> str:
        if value:
            parse_timelimit(value)
        return value


def serialize(entry: AuditEntry, check: EntryCheck) -> dict[str, Any]:
    return {
        "number": entry.id,
        "date": entry.date.isoformat(),
        "startdate": entry.startdate.isoformat(),
        "duration": entry.duration,
        "sig_check": "OK" if check.sig_ok else "FAIL",
        "missing_line": "OK" if check.lines_ok else "FAIL",
        "action": entry.action,
        "success": 1 if entry.success else 0,
        "authentication": entry.authentication,
        "serial": entry.serial,
        "token_type": entry.token_type,
        "user": entry.user,
        "realm": entry.realm,
        "resolver": entry.resolver,
        "administrator": entry.administrator,
        "action_detail": entry.action_detail,
        "info": entry.info,
        "privacyidea_server": entry.privacyidea_server,
        "policies": entry.policies,
        "client": entry.client,
        "user_agent": entry.user_agent,
        "user_agent_version": entry.user_agent_version,
        "request_id": entry.request_id,
        "trace": json.loads(entry.trace) if entry.trace else None,
        "container_serial": "",
        "container_type": "",
        "log_level": "",
        "clearance_level": "",
        "thread_id": "",
    }


@routes.route("GET", "/audit/", event="audit_list", params=AuditParams, access=Access.ADMIN)
def search(call: Call[AuditParams]) -> Outcome:
    """Search audit entries with column filters (``*`` wildcard), paging and a time limit."""
    p = call.params
    extra = p.model_extra or {}
    filters: dict[str, str] = {}
    for key, value in extra.items():
        if key in SEARCHABLE and str(value) not in ("", "*"):
            filters[key] = str(value)[:500]
    timelimit = parse_timelimit(p.timelimit) if p.timelimit else None
    entries, total = call.services.audit.search(
        call.session,
        filters,
        timelimit=timelimit,
        page=p.page,
        page_size=p.page_size,
        sortorder=p.sortorder,
    )
    checks = call.services.audit.checks(call.session, entries)
    pages = (total + p.page_size - 1) // p.page_size
    return Outcome(
        value={
            "auditdata": [serialize(e, checks[e.id]) for e in entries],
            "count": total,
            "current": p.page,
            "next": p.page + 1 if p.page < pages else None,
            "prev": p.page - 1 if p.page > 1 else None,
        }
    )
