"""The web UI login of realm users as the webui scope's ``login_mode`` says
(:class:`factorflow.auth.login.UserLogin`): with ``privacyIDEA`` a user logs in with
PIN and OTP of a token, checked exactly as ``/validate/check`` checks them (the same
policies, counters, fail counts and replay protection)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from factorflow.policies.decide import RequestPolicies
from factorflow.policies.service import PolicyService
from factorflow.policies.webui import login_mode
from factorflow.users.identity import User
from factorflow.validate.requests import CheckRequest
from factorflow.validate.service import ValidateService


class PolicyUserLogin:
    def __init__(self, policies: PolicyService, validate: ValidateService) -> None:
        self.policies = policies
        self.validate = validate

    def mode(self, session: Session, user: User, client_ip: str) -> str:
        return login_mode(self.policies, session, user, client_ip or None)

    def tokens(self, session: Session, user: User, password: str, client_ip: str) -> bool:
        """Whether ``password`` is PIN + OTP of one of the user's tokens. A challenge
        (a PIN alone for an email or SMS token) is no login: the web UI's login form
        has no second step yet."""
        request = CheckRequest.model_validate(
            {"user": user.login, "realm": user.realm, "pass": password}
        )
        decided = RequestPolicies(self.policies, session, client_ip or None)
        result = self.validate.check(session, request, policies=decided)
        return result.accepted
