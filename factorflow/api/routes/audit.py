"""GET /audit/: search the audit log; GET /audit/<file>.csv: download it (admins)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Set
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from factorflow.api.routing import Call, Routes
from factorflow.audit.models import AuditEntry
from factorflow.audit.service import SEARCHABLE, EntryCheck
from factorflow.core.dates import DateError, parse_duration
from factorflow.core.invocation import Outcome
from factorflow.db.base import transaction
from factorflow.errors import ParameterError
from factorflow.pipeline import Access
from factorflow.policies.decide import RequestPolicies

if TYPE_CHECKING:
    from factorflow.bootstrap import Services

routes = Routes("audit")


def parse_timelimit(value: str) -> timedelta:
    """privacyIDEA's ``timelimit``: a number and s, m, h or d (at most 100 years)."""
    try:
        return parse_duration(value.strip(), units="smhd")
    except DateError:
        raise ParameterError(
            f"Invalid timelimit {value!r}: use a number and s, m, h or d, e.g. 7d"
        ) from None


def _valid_timelimit(value: str) -> str:
    if value:
        parse_timelimit(value)
    return value


Timelimit = Annotated[str, Field(max_length=20), AfterValidator(_valid_timelimit)]


class AuditParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    page: int = Field(default=1, ge=1, le=1_000_000)
    page_size: int = Field(default=15, ge=1, le=1000)
    sortorder: Literal["asc", "desc"] = "desc"
    timelimit: Timelimit = ""


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


#: The columns privacyIDEA 3.14 names in ``auditcolumns`` (its web UI's table), in its order.
AUDIT_COLUMNS = (
    "number", "action", "success", "authentication", "serial", "date", "startdate",
    "duration", "token_type", "user", "realm", "administrator", "action_detail", "info",
    "privacyidea_server", "client", "user_agent", "user_agent_version", "log_level",
    "policies", "clearance_level", "sig_check", "missing_line", "resolver", "thread_id",
    "container_serial", "container_type",
)  # fmt: skip


def column_filters(params: BaseModel) -> dict[str, str]:
    """The column filters among the request's parameters ("" and "*" match anything)."""
    filters: dict[str, str] = {}
    for key, value in (params.model_extra or {}).items():
        if key in SEARCHABLE and str(value) not in ("", "*"):
            filters[key] = str(value)[:500]
    return filters


@routes.route("GET", "/audit/", event="audit_list", params=AuditParams, access=Access.ADMIN)
def search(call: Call[AuditParams]) -> Outcome:
    """Search audit entries with column filters (``*`` wildcard), paging and a time limit;
    an admin limited to some realms by the admin policies sees only their entries."""
    p = call.params
    filters = column_filters(p)
    timelimit = parse_timelimit(p.timelimit) if p.timelimit else None
    # privacyIDEA: an auditlog right limited to user realms shows only their entries.
    policies = RequestPolicies(call.services.policies, call.session, call.inv.client_ip)
    entries, total = call.services.audit.search(
        call.session,
        filters,
        timelimit=timelimit,
        page=p.page,
        page_size=p.page_size,
        sortorder=p.sortorder,
        realms=policies.admin_realms(call.actor, "auditlog"),
    )
    checks = call.services.audit.checks(call.session, entries)
    pages = (total + p.page_size - 1) // p.page_size
    return Outcome(
        value={
            "auditcolumns": list(AUDIT_COLUMNS),
            "auditdata": [serialize(e, checks[e.id]) for e in entries],
            "count": total,
            "current": p.page,
            "next": p.page + 1 if p.page < pages else None,
            "prev": p.page - 1 if p.page > 1 else None,
        }
    )


class DownloadParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    csvfile: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
    timelimit: Timelimit = ""


@routes.route("GET", "/audit/{csvfile}", event="audit_download", params=DownloadParams,
              access=Access.ADMIN)  # fmt: skip
def download(call: Call[DownloadParams]) -> Outcome:
    """The entries matching the filters of ``GET /audit/`` as CSV, oldest first: one
    line per entry, each value in single quotes, as privacyIDEA writes it. An admin
    limited to some realms downloads only their entries, as in ``GET /audit/``."""
    p = call.params
    policies = RequestPolicies(call.services.policies, call.session, call.inv.client_ip)
    lines = csv_lines(
        call.services,
        column_filters(p),
        parse_timelimit(p.timelimit) if p.timelimit else None,
        realms=policies.admin_realms(call.actor, "auditlog_download"),
    )
    return Outcome(
        value=None,
        raw_stream=lines,
        raw_media_type="text/csv",
        raw_headers={"Content-Disposition": f"attachment; filename={p.csvfile}"},
    )


CSV_BATCH = 1000


def csv_value(value: object) -> str:
    """One value as privacyIDEA writes it, in single quotes; a quote inside is
    doubled and line breaks are escaped, so that every entry stays one line."""
    text = str(value).replace("'", "''").replace("\r", "\\r").replace("\n", "\\n")
    return f"'{text}'"


def csv_lines(
    services: Services,
    filters: dict[str, str],
    timelimit: timedelta | None,
    *,
    realms: Set[str] | None = None,
) -> Iterator[bytes]:
    """The CSV lines, produced while they are sent: a read transaction per batch."""
    after = 0
    while True:
        with transaction(services.sessions) as session:
            entries = services.audit.batch_after(
                session, filters, timelimit=timelimit, after=after, size=CSV_BATCH, realms=realms
            )
            checks = services.audit.checks(session, entries)
        if not entries:
            return
        chunk = []
        for entry in entries:
            values = serialize(entry, checks[entry.id])
            del values["trace"]  # Factorflow's condition trace: not a privacyIDEA column
            chunk.append(",".join(csv_value(v) for v in values.values()) + "\n")
        yield "".join(chunk).encode("utf-8")
        after = entries[-1].id
