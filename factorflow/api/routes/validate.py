"""``/validate/*``: authentication (public) and challenge-response."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from factorflow.api.routing import Call, Routes
from factorflow.core.invocation import Outcome
from factorflow.errors import AuthError, PolicyError
from factorflow.pipeline import Access
from factorflow.policies.decide import RequestPolicies
from factorflow.tokens.fido import RP_ID
from factorflow.validate.plan import CheckPlan
from factorflow.validate.requests import (
    CapabilitiesRequest,
    CheckRequest,
    InitializeRequest,
    PollRequest,
    TriggerRequest,
)
from factorflow.validate.service import CheckResult

routes = Routes("validate")

UNIDENTIFIED_CLIENT = "The request does not come from an identified API client."

#: result.authentication of /validate/polltransaction, by challenge_status.
POLL_AUTHENTICATION = {
    "accept": "ACCEPT",
    "declined": "DECLINED",
    "cancelled": "DECLINED",
    "pending": "REJECT",
}


def _policies(call: Call[CheckRequest]) -> RequestPolicies:
    return RequestPolicies(call.services.policies, call.session, call.inv.client_ip)


def _request(call: Call[CheckRequest]) -> CheckRequest:
    """The parameters with the ``Origin`` header (WebAuthn answers are bound to it)."""
    return call.params.model_copy(update={"origin": call.inv.origin})


def _check(call: Call[CheckRequest]) -> CheckResult:
    plan = call.prepared if isinstance(call.prepared, CheckPlan) else None
    result = call.services.validate.check(
        call.session,
        _request(call),
        request_id=call.inv.request_id,
        policies=_policies(call),
        plan=plan,
    )
    if result.user is not None:
        call.audit.note_user(result.user.login, result.user.realm, result.user.resolver)
    detail = result.detail()
    if "serial" in detail:
        call.audit.note_token(detail["serial"], detail.get("type") or result.token_type)
    call.audit.info = result.message
    return result


def _prepare(call: Call[CheckRequest]) -> CheckPlan:
    return call.services.validate.prepare(call.session, _request(call), policies=_policies(call))


@routes.route(
    ("GET", "POST"), "/validate/check", event="validate_check", params=CheckRequest,
    access=Access.PUBLIC, prepare=_prepare,
)  # fmt: skip
def check(call: Call[CheckRequest]) -> Outcome:
    """Authenticate a user or serial with PIN + OTP, or start/answer a challenge."""
    result = _check(call)
    return Outcome(
        value=result.accepted,
        detail=_detail(call, result),
        authentication=result.authentication,
        auth_items=_offline_items(call, result),
    )


def _offline_items(call: Call[CheckRequest], result: CheckResult) -> dict[str, Any] | None:
    """privacyIDEA's offline post-policy: a successful check of a token attached for
    offline use (to any machine, or to the client's) carries the machine's first
    offline values in ``auth_items``."""
    if not result.accepted or result.token is None:
        return None
    return call.services.machines.offline_after_check(
        call.session, result.token, call.inv.client_ip
    )


class OfflineRefillParams(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    serial: str = Field(min_length=1, max_length=64)
    refilltoken: str = Field(min_length=1, max_length=200)
    password: str = Field(default="", alias="pass", max_length=1024)


@routes.route(
    "POST", "/validate/offlinerefill", event="validate_offlinerefill",
    params=OfflineRefillParams, access=Access.PUBLIC,
)  # fmt: skip
def offlinerefill(call: Call[OfflineRefillParams]) -> Outcome:
    """New offline values for a machine that presents its refill token and the last
    PIN + OTP the user entered; a new refill token replaces the old one."""
    p = call.params
    call.audit.note_token(p.serial)
    items = call.services.machines.refill(call.session, p.serial, p.password, p.refilltoken)
    return Outcome(value=True, auth_items=items)


def _detail(call: Call[CheckRequest], result: CheckResult) -> dict[str, Any]:
    """The detail as the authorization policies shape it (privacyIDEA's post-policies)."""
    detail = result.detail()
    decided = _policies(call).authentication(result.user, call.params.realm)
    if decided.names:
        call.audit.policies = ",".join(decided.names)[:255]
    if result.challenge is not None:
        if decided.challenge_text:
            detail["message"] = decided.challenge_text
            detail["messages"] = [decided.challenge_text for _ in detail.get("messages", [])]
            for item in detail.get("multi_challenge", []):
                item["message"] = decided.challenge_text
        return detail
    if (result.accepted and decided.no_detail_on_success) or (
        not result.accepted and decided.no_detail_on_fail
    ):
        return {}
    user = result.user
    if result.accepted and user is not None:
        if decided.add_user_in_response:
            detail["user"] = call.services.users.user_info(call.session, user)
        if decided.add_resolver_in_response:
            detail["user-resolver"], detail["user-realm"] = user.resolver, user.realm
    return detail


@routes.route(
    ("GET", "POST"), "/validate/radiuscheck", event="validate_check", params=CheckRequest,
    access=Access.PUBLIC, prepare=_prepare,
)  # fmt: skip
def radiuscheck(call: Call[CheckRequest]) -> Outcome:
    """Like /validate/check, answered with an empty 204 (accept) or 400 (reject)."""
    result = _check(call)
    return Outcome(
        value=result.accepted,
        authentication=result.authentication,
        status=204 if result.accepted else 400,
        raw_body=b"",
    )


@routes.route(
    ("GET", "POST"), "/validate/triggerchallenge", event="validate_triggerchallenge",
    params=TriggerRequest, access=Access.ADMIN,
)  # fmt: skip
def triggerchallenge(call: Call[TriggerRequest]) -> Outcome:
    """Create challenges for a user's (or a serial's) tokens without their PIN."""
    policies = RequestPolicies(call.services.policies, call.session, call.inv.client_ip)
    issued = call.services.validate.trigger(
        call.session, call.params, request_id=call.inv.request_id, policies=policies
    )
    detail = issued.detail()
    if call.params.user:
        call.audit.note_user(call.params.user, call.params.realm or "")
    if "serial" in detail:
        call.audit.note_token(detail["serial"], detail["type"])
    call.audit.info = f"triggered {len(issued.items)} challenges"
    # privacyIDEA answers with the authentication result id: CHALLENGE when it
    # created challenges (the PHP client reads it), else REJECT.
    authentication = "CHALLENGE" if issued.items else "REJECT"
    return Outcome(value=len(issued.items), detail=detail, authentication=authentication)


@routes.route(
    "GET", "/validate/polltransaction", "/validate/polltransaction/{transaction_id}",
    event="validate_poll_transaction", params=PollRequest, access=Access.PUBLIC,
)  # fmt: skip
def polltransaction(call: Call[PollRequest]) -> Outcome:
    """Whether the challenges of a transaction were answered (push-style polling)."""
    status = call.services.validate.poll(call.session, call.params.transaction_id)
    call.audit.info = f"challenge_status={status}"
    return Outcome(
        value=status == "accept",
        detail={"challenge_status": status},
        authentication=POLL_AUTHENTICATION[status],
    )


@routes.route(
    ("GET", "POST"), "/validate/initialize", event="validate_initialize",
    params=InitializeRequest, access=Access.PUBLIC,
)  # fmt: skip
def initialize(call: Call[InitializeRequest]) -> Outcome:
    """Start an authentication for a token type before the user is known (passkeys)."""
    params = {**call.inv.params, RP_ID: _relying_party(call)}
    detail = call.services.validate.initialize(call.session, call.params, params)
    call.audit.info = f"initialized a {call.params.type} authentication"
    return Outcome(value=False, detail=detail, authentication="CHALLENGE")


def _relying_party(call: Call[InitializeRequest]) -> str:
    """The RP id the enrollment policies give a request of ``realm`` (or without one),
    "" when none does or the matching policies disagree (realms with different RPs):
    the browser then uses its page's domain. Never the request's own value."""
    policies = RequestPolicies(call.services.policies, call.session, call.inv.client_ip)
    view = policies.view("enrollment", None, call.params.realm)
    try:
        value = view.value(RP_ID)
    except PolicyError:
        return ""
    return "" if value is None else str(value)


@routes.route(
    ("GET", "POST"), "/validate/capabilities", event="validate_capabilities",
    params=CapabilitiesRequest, access=Access.PUBLIC,
)  # fmt: skip
def capabilities(call: Call[CapabilitiesRequest]) -> Outcome:
    """What an identified API client may use (privacyIDEA 3.14's remember-device).

    privacyIDEA answers only requests of a registered API client (``X-API-Key``);
    Factorflow has no API-client registry yet, so every caller is unidentified and
    gets privacyIDEA's answer for that case."""
    raise AuthError(UNIDENTIFIED_CLIENT)
