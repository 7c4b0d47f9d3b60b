"""``/token/...``: enrolment and management of tokens (privacyIDEA's paths and events).

Admins act on any token; user-role JWTs act only on their own tokens (the token
service enforces it and answers 404 for other users' serials).
"""

from __future__ import annotations

from typing import Any

from factorflow.api.routing import Call, Routes
from factorflow.core.invocation import Outcome
from factorflow.errors import FactorflowError, ParameterError
from factorflow.pipeline import Access
from factorflow.policies.decide import RequestPolicies
from factorflow.tokens.errors import TokenPolicyError
from factorflow.tokens.requests import (
    AssignRequest,
    CancelChallengeRequest,
    ChallengeListRequest,
    DescriptionRequest,
    GroupAssignRequest,
    InfoRequest,
    InitRequest,
    ListRequest,
    RealmRequest,
    ResyncRequest,
    Selection,
    SetPinRequest,
    SetRequest,
    TypesRequest,
)
from factorflow.tokens.service import Changed

routes = Routes("token")
AUTH = Access.AUTHENTICATED


def _reply(call: Call[Any], changed: Changed) -> Outcome:
    if len(changed.tokens) == 1:
        token = changed.tokens[0]
        call.audit.note_token(token.serial, token.tokentype)
    elif changed.tokens:
        call.audit.note_token(",".join(t.serial for t in changed.tokens)[:200])
    return Outcome(value=changed.value, detail=changed.detail)


@routes.route("POST", "/token/init", event="token_init", params=InitRequest, access=AUTH)
def init(call: Call[InitRequest]) -> Outcome:
    """Enrol a token (or re-enrol an existing serial)."""
    params = call.params.model_copy(update={"origin": call.inv.origin})
    enrolled = call.services.tokens.init(call.session, call.actor, params)
    call.audit.note_token(enrolled.token.serial, enrolled.token.tokentype)
    if enrolled.user is not None:
        user = enrolled.user
        call.audit.note_user(user.login, user.realm, user.resolver)
    return Outcome(value=True, detail=enrolled.detail)


@routes.route("GET", "/token/", event="token_list", params=ListRequest, access=AUTH)
def list_tokens(call: Call[ListRequest]) -> Outcome:
    """List tokens with filters, sorting and paging; an admin limited to some realms
    by the admin policies sees only the tokens there."""
    tokens, params = call.services.tokens, call.params
    user = None
    if call.actor.is_admin and params.user:
        user = tokens.access.requested_user(call.session, call.actor, params.user, params.realm)
    policies = RequestPolicies(call.services.policies, call.session, call.inv.client_ip)
    realms = policies.admin_realms(call.actor, "tokenlist", user)
    return Outcome(value=tokens.list_tokens(call.session, call.actor, params, realms))


@routes.route("POST", "/token/assign", event="token_assign", params=AssignRequest, access=AUTH)
def assign(call: Call[AssignRequest]) -> Outcome:
    """Assign a token to a user (admin)."""
    return _reply(call, call.services.tokens.assign(call.session, call.actor, call.params))


@routes.route("POST", "/token/unassign", event="token_unassign", params=Selection, access=AUTH)
def unassign(call: Call[Selection]) -> Outcome:
    """Remove the owner of tokens (admin)."""
    return _reply(call, call.services.tokens.unassign(call.session, call.actor, call.params))


@routes.route(
    "POST", "/token/enable", "/token/enable/{serial}", event="token_enable", params=Selection,
    access=AUTH,
)  # fmt: skip
def enable(call: Call[Selection]) -> Outcome:
    """Enable a token, or all tokens of a user."""
    tokens = call.services.tokens
    return _reply(call, tokens.enable(call.session, call.actor, call.params, active=True))


@routes.route(
    "POST", "/token/disable", "/token/disable/{serial}", event="token_disable", params=Selection,
    access=AUTH,
)  # fmt: skip
def disable(call: Call[Selection]) -> Outcome:
    """Disable a token, or all tokens of a user."""
    tokens = call.services.tokens
    return _reply(call, tokens.enable(call.session, call.actor, call.params, active=False))


@routes.route(
    "DELETE", "/token/", "/token/{serial}", event="token_delete", params=Selection, access=AUTH
)
def delete(call: Call[Selection]) -> Outcome:
    """Delete tokens."""
    return _reply(call, call.services.tokens.delete(call.session, call.actor, call.params))


@routes.route(
    "POST", "/token/reset", "/token/reset/{serial}", event="token_reset", params=Selection,
    access=AUTH,
)  # fmt: skip
def reset(call: Call[Selection]) -> Outcome:
    """Reset the fail counter (admin)."""
    return _reply(call, call.services.tokens.reset(call.session, call.actor, call.params))


@routes.route(
    "POST", "/token/resync", "/token/resync/{serial}", event="token_resync",
    params=ResyncRequest, access=AUTH,
)  # fmt: skip
def resync(call: Call[ResyncRequest]) -> Outcome:
    """Resynchronise the OTP counter with two consecutive OTPs."""
    return _reply(call, call.services.tokens.resync(call.session, call.actor, call.params))


@routes.route(
    "POST", "/token/setpin", "/token/setpin/{serial}", event="token_setpin",
    params=SetPinRequest, access=AUTH,
)  # fmt: skip
def setpin(call: Call[SetPinRequest]) -> Outcome:
    """Set the token PIN."""
    return _reply(call, call.services.tokens.setpin(call.session, call.actor, call.params))


@routes.route(
    "POST", "/token/set", "/token/set/{serial}", event="token_set", params=SetRequest, access=AUTH
)
def set_attributes(call: Call[SetRequest]) -> Outcome:
    """Set token attributes; the value is the number of attributes set."""
    return _reply(call, call.services.tokens.set(call.session, call.actor, call.params))


@routes.route(
    "POST", "/token/description", "/token/description/{serial}", event="token_set",
    params=DescriptionRequest, access=AUTH,
)  # fmt: skip
def description(call: Call[DescriptionRequest]) -> Outcome:
    """Set the token description."""
    tokens = call.services.tokens
    return _reply(call, tokens.set_description(call.session, call.actor, call.params))


@routes.route(
    "POST", "/token/realm/{serial}", event="token_realm", params=RealmRequest, access=AUTH
)
def realms(call: Call[RealmRequest]) -> Outcome:
    """Set the token realms (admin)."""
    return _reply(call, call.services.tokens.set_realms(call.session, call.actor, call.params))


@routes.route(
    "POST", "/token/info/{serial}/{key}", event="token_info", params=InfoRequest, access=AUTH
)
def set_info(call: Call[InfoRequest]) -> Outcome:
    """Set a tokeninfo value (admin; type-managed keys are refused)."""
    return _reply(call, call.services.tokens.set_info(call.session, call.actor, call.params))


@routes.route(
    "DELETE", "/token/info/{serial}/{key}", event="token_info", params=InfoRequest, access=AUTH
)
def delete_info(call: Call[InfoRequest]) -> Outcome:
    """Delete a tokeninfo value (admin)."""
    tokens = call.services.tokens
    return _reply(call, tokens.delete_info(call.session, call.actor, call.params))


@routes.route(
    "POST", "/token/group/{serial}", "/token/group/{serial}/{groupname}",
    event="token_assign_group", params=GroupAssignRequest, access=AUTH,
)  # fmt: skip
def assign_group(call: Call[GroupAssignRequest]) -> Outcome:
    """Add a token to a group, or set its groups (admin)."""
    tokens = call.services.tokens
    return _reply(call, tokens.assign_groups(call.session, call.actor, call.params))


@routes.route(
    "DELETE", "/token/group/{serial}/{groupname}", event="token_unassign_group",
    params=GroupAssignRequest, access=AUTH,
)  # fmt: skip
def unassign_group(call: Call[GroupAssignRequest]) -> Outcome:
    """Remove a token from a group (admin)."""
    tokens = call.services.tokens
    return _reply(call, tokens.unassign_group(call.session, call.actor, call.params))


@routes.route(
    "GET", "/token/challenges/", "/token/challenges/{serial}", event="token_getchallenges",
    params=ChallengeListRequest, access=AUTH,
)  # fmt: skip
def list_challenges(call: Call[ChallengeListRequest]) -> Outcome:
    """List the challenges of a token, of a user's tokens, or of all tokens (admin)."""
    tokens = call.services.tokens
    policies = RequestPolicies(call.services.policies, call.session, call.inv.client_ip)
    realms = policies.admin_realms(call.actor, "getchallenges")
    return Outcome(value=tokens.list_challenges(call.session, call.actor, call.params, realms))


@routes.route(
    "DELETE", "/token/challenges/transaction/{transaction_id}", event="token_cancelchallenge",
    params=CancelChallengeRequest, access=Access.ADMIN,
)  # fmt: skip
def cancel_challenge(call: Call[CancelChallengeRequest]) -> Outcome:
    """Cancel (delete) the challenges of one transaction (admin)."""
    policies = RequestPolicies(call.services.policies, call.session, call.inv.client_ip)
    realms = policies.admin_realms(call.actor, "cancelchallenge")
    changed = call.services.tokens.cancel_challenges(call.session, call.actor, call.params, realms)
    transaction = call.params.transaction_id
    call.audit.info = (
        f"Cancelled {changed.value['deleted']} challenge(s) for transaction {transaction}"
    )
    return _reply(call, changed)


def enrollable_types(call: Call[Any]) -> list[str]:
    """The token types the caller may enrol (privacyIDEA's ``GET /auth/rights``): a
    user's are matched against the user policies with the facts ``/token/init`` checks
    the user's right with (the user store and the attributes too)."""
    tokens, session = call.services.tokens, call.session
    try:
        user = tokens.access.actor_user(session, call.actor)
    except FactorflowError:
        user = None  # unknown to its store now: matched as the authorizer matches it
    policies = RequestPolicies(call.services.policies, session, call.inv.client_ip)
    return policies.enrollable(
        call.actor, {t: cls.self_service for t, cls in tokens.types.items()}, user
    )


@routes.route(
    "GET", "/token/types/", "/token/types/{tokentype}", event="token_types",
    params=TypesRequest, access=AUTH,
)  # fmt: skip
def token_types(call: Call[TypesRequest]) -> Outcome:
    """The token types the caller may enrol, each with its description and the
    descriptors of its enrolment parameters (as ``GET /auth/rights`` chooses the types)."""
    types, session = call.services.tokens.types, call.session
    allowed = enrollable_types(call)
    wanted = call.params.tokentype.strip().lower()
    if wanted:
        if wanted not in types:
            raise ParameterError(f"Unknown token type {call.params.tokentype[:30]!r}.")
        if wanted not in allowed:
            raise TokenPolicyError(f"You may not enroll tokens of type {wanted!r}.")
        allowed = [wanted]
    notify = call.services.notify
    # Users enrol with the default configurations; only admins choose one.
    configured = (
        {
            "smtp_servers": notify.smtp.names(session),
            "sms_gateways": notify.sms.names(session),
            "radius_servers": call.services.radius.servers.names(session),
            "privacyidea_servers": call.services.federation.servers.names(session),
            "ca_connectors": call.services.caconnectors.names(session),
        }
        if call.actor.is_admin
        else {}
    )
    return Outcome(value={t: types[t].describe(configured) for t in allowed})
