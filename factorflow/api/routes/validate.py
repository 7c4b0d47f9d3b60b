"""``/validate/check`` and ``/validate/radiuscheck``: authentication (public)."""

from __future__ import annotations

from factorflow.api.routing import Routes
from factorflow.core.invocation import Outcome
from factorflow.pipeline import Access, Call
from factorflow.validate.requests import CheckRequest
from factorflow.validate.service import CheckResult

routes = Routes("validate")


def _check(call: Call[CheckRequest]) -> CheckResult:
    result = call.services.validate.check(call.session, call.params)
    if result.user is not None:
        call.audit.note_user(result.user.login, result.user.realm, result.user.resolver)
    detail = result.detail()
    if "serial" in detail:
        call.audit.note_token(detail["serial"], detail["type"])
    call.audit.info = result.message
    return result


@routes.route(
    ("GET", "POST"), "/validate/check", event="validate_check", params=CheckRequest,
    access=Access.PUBLIC,
)  # fmt: skip
def check(call: Call[CheckRequest]) -> Outcome:
    """Authenticate a user or serial with PIN + OTP."""
    result = _check(call)
    return Outcome(
        value=result.accepted,
        detail=result.detail(),
        authentication="ACCEPT" if result.accepted else "REJECT",
    )


@routes.route(
    ("GET", "POST"), "/validate/radiuscheck", event="validate_check", params=CheckRequest,
    access=Access.PUBLIC,
)  # fmt: skip
def radiuscheck(call: Call[CheckRequest]) -> Outcome:
    """Like /validate/check, answered with an empty 204 (accept) or 400 (reject)."""
    result = _check(call)
    return Outcome(
        value=result.accepted,
        authentication="ACCEPT" if result.accepted else "REJECT",
        status=204 if result.accepted else 400,
        raw_body=b"",
    )
