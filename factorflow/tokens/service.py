"""Token management use cases (privacyIDEA's ``/token/`` endpoints).

Every method takes the unit-of-work session and the actor. Administrators act on
any token; user-role actors act only on their own tokens and only through the
self-service operations (:data:`SELF_SERVICE`); anything else is a 403. Methods
return :class:`Changed` (the ``result.value`` and the tokens touched, for audit).
"""

from __future__ import annotations

import time
from collections.abc import Set
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from factorflow.core.invocation import Actor
from factorflow.core.params import split_list
from factorflow.crypto import Hasher, SecretBox
from factorflow.errors import ServerError, TokenAdminError
from factorflow.registry import Registry
from factorflow.settings import Settings
from factorflow.tokens import challenges
from factorflow.tokens.access import TokenAccess, UserDirectory
from factorflow.tokens.base import PinMode, TokenType
from factorflow.tokens.enroll import (
    NEXT_PIN_CHANGE,
    Enrolled,
    Enroller,
    EnrollmentPolicies,
    mark_pin_change,
)
from factorflow.tokens.errors import TokenAlreadyAssignedError, TokenPolicyError
from factorflow.tokens.groups import TokenGroupService
from factorflow.tokens.info import delete_info, parse_validity, set_info
from factorflow.tokens.listing import list_tokens, visible_in
from factorflow.tokens.models import Token
from factorflow.tokens.ownership import add_realms, assign_owner
from factorflow.tokens.ports import RemoteServers, TypePorts
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
)

#: What a user-role actor may do with its own tokens (besides listing and enrolling
#: self-service types). Assigning, resetting fail counters, realms, tokeninfo and
#: groups stay with administrators (the help desk).
SELF_SERVICE = frozenset({"enable", "disable", "delete", "setpin", "resync", "description"})


@dataclass
class Changed:
    value: Any
    tokens: list[Token] = field(default_factory=list)
    detail: dict[str, Any] = field(default_factory=dict)


def refuse_enabling_revoked(tokens: list[Token]) -> None:
    """Revocation is for good: neither ``/token/enable`` nor an event action may undo it."""
    if any(token.revoked for token in tokens):
        raise TokenAdminError("A revoked token cannot be enabled again.")


class TokenService:
    def __init__(
        self,
        *,
        box: SecretBox,
        hasher: Hasher,
        types: Registry[TokenType],
        users: UserDirectory,
        settings: Settings,
        enrollment: EnrollmentPolicies | None = None,
        remote_servers: RemoteServers | None = None,
    ) -> None:
        """``enrollment`` is the enrollment-policy hook every enrolment passes (see
        :mod:`factorflow.tokens.enroll`); without it enrolment is unrestricted.
        ``remote_servers`` are asked by ``remote`` tokens (tokens.ports)."""
        self.box = box
        self.hasher = hasher
        self.types = types
        self.settings = settings
        self.access = TokenAccess(users)
        self.groups = TokenGroupService()
        self.ports = (
            TypePorts(owner=self.access.owner_of)
            if remote_servers is None
            else TypePorts(owner=self.access.owner_of, remote_servers=remote_servers)
        )
        self._enroller = Enroller(self.access, types, box, hasher, enrollment, ports=self.ports)

    # -- helpers shared with validate --------------------------------------------
    def type_of(self, token: Token) -> TokenType:
        try:
            type_cls = self.types[token.tokentype]
        except KeyError:
            raise ServerError(f"Token type {token.tokentype!r} is not installed.") from None
        return type_cls(token, self.box, self.ports)

    def verify_pin(self, token: Token, pin: str) -> bool:
        """An empty stored PIN matches only the empty PIN; otherwise argon2."""
        if not token.pin_hash:
            return pin == ""
        return self.hasher.verify(token.pin_hash, pin)

    def strengthen_pin(self, token: Token, pin: str) -> None:
        """After ``pin`` proved right: hash it again at this server's cost if its
        stored hash is weaker (one imported from privacyIDEA with a lower cost, or
        made before the cost was raised)."""
        if token.pin_hash and self.hasher.is_weaker(token.pin_hash):
            token.pin_hash = self.hasher.hash(pin)

    @staticmethod
    def _admin_only(actor: Actor, what: str) -> None:
        if actor.is_user and what not in SELF_SERVICE:
            raise TokenPolicyError(f"You are not allowed to {what} tokens.")

    def _select(self, session: Session, actor: Actor, sel: Selection, *, many: bool) -> list[Token]:
        serials = split_list(sel.serials) if sel.serials is not None else []
        return self.access.select(
            session, actor, sel.serial, sel.user, sel.realm, serials=serials, many=many
        )

    # -- use cases -----------------------------------------------------------------
    def init(
        self, session: Session, actor: Actor, req: InitRequest, *, apply_policies: bool = True
    ) -> Enrolled:
        """Enrol (or re-enrol, or verify) a token under the enrollment policies;
        ``apply_policies=False`` only for event definitions that say so."""
        return self._enroller.init(session, actor, req, apply_policies=apply_policies)

    def list_tokens(
        self, session: Session, actor: Actor, req: ListRequest, realms: Set[str] | None = None
    ) -> dict[str, Any]:
        return list_tokens(session, self.access, actor, req, realms, types=self.types)

    def list_challenges(
        self,
        session: Session,
        actor: Actor,
        req: ChallengeListRequest,
        realms: Set[str] | None = None,
    ) -> dict[str, Any]:
        """Challenges of one serial, of a user's tokens, or of all tokens (admin);
        ``realms`` (lower case) limits them to tokens an admin of those realms sees."""
        self._admin_only(actor, "list challenges of")
        token_ids: list[int] | None = None
        if req.serial or req.user:
            token_ids = [
                t.id for t in self.access.select(session, actor, req.serial, req.user, req.realm)
            ]
        return challenges.list_challenges(
            session,
            token_ids,
            transaction_id=req.transaction_id or "",
            page=req.page,
            page_size=req.pagesize,
            visible=select(Token.id).where(visible_in(realms)) if realms is not None else None,
        )

    def cancel_challenges(
        self,
        session: Session,
        actor: Actor,
        req: CancelChallengeRequest,
        realms: Set[str] | None = None,
    ) -> Changed:
        """Cancel (delete) the challenges of one transaction, privacyIDEA's
        ``{"status": true, "deleted": n}``. An admin limited to ``realms`` (lower
        case) must see every token of the transaction, or nothing is cancelled."""
        self._admin_only(actor, "cancel challenges of")
        rows = challenges.for_transaction(session, req.transaction_id)
        ids = {row.token_id for row in rows}
        if realms is not None and ids:
            seen = session.scalars(select(Token.id).where(Token.id.in_(ids), visible_in(realms)))
            if ids - set(seen):
                raise TokenPolicyError(
                    "Admin actions are defined, but the action cancelchallenge is not allowed!"
                )
        tokens = list(
            session.scalars(select(Token).where(Token.id.in_(ids)).order_by(Token.serial))
        )
        deleted = challenges.delete_transaction(session, req.transaction_id)
        return Changed({"status": True, "deleted": deleted}, tokens)

    def assign(self, session: Session, actor: Actor, req: AssignRequest) -> Changed:
        self._admin_only(actor, "assign")
        token = self.access.get(session, actor, req.serial)
        if token.owner is not None:
            raise TokenAlreadyAssignedError()
        user = self.access.users.resolve(session, req.user, req.realm or "")
        assign_owner(session, token, user)
        if req.pin is not None and self.type_of(token).pin_mode is not PinMode.NONE:
            token.pin_hash = self.hasher.hash(req.pin) if req.pin else ""
        return Changed(True, [token])

    def unassign(self, session: Session, actor: Actor, sel: Selection) -> Changed:
        self._admin_only(actor, "unassign")
        tokens = self._select(session, actor, sel, many=True)
        for token in tokens:
            # privacyIDEA's unassign: no owner, no PIN, a fresh fail counter.
            token.owner = None
            token.pin_hash = ""
            token.failcount = 0
        return Changed(len(tokens) if len(tokens) > 1 else True, tokens)

    def enable(self, session: Session, actor: Actor, sel: Selection, *, active: bool) -> Changed:
        self._admin_only(actor, "enable" if active else "disable")
        tokens = self._select(session, actor, sel, many=False)
        if active:
            refuse_enabling_revoked(tokens)
        for token in tokens:
            token.active = active
        return Changed(len(tokens), tokens)

    def delete(self, session: Session, actor: Actor, sel: Selection) -> Changed:
        self._admin_only(actor, "delete")
        tokens = self._select(session, actor, sel, many=True)
        for token in tokens:
            session.delete(token)
        return Changed(len(tokens), tokens)

    def reset(self, session: Session, actor: Actor, sel: Selection) -> Changed:
        self._admin_only(actor, "reset")
        tokens = self._select(session, actor, sel, many=False)
        for token in tokens:
            token.failcount = 0
            delete_info(token, "failcounter_exceeded")
        return Changed(True, tokens)

    def resync(
        self, session: Session, actor: Actor, req: ResyncRequest, now: float | None = None
    ) -> Changed:
        """Find ``otp1`` and ``otp2`` as consecutive OTPs within ``sync_window`` and
        move the counter past them (claimed atomically like an authentication)."""
        self._admin_only(actor, "resync")
        token = self.access.get(session, actor, req.serial)
        ttype = self.type_of(token)
        moment = time.time() if now is None else now
        counter = ttype.resync(req.otp1, req.otp2, moment)
        if counter is None or not ttype.commit_otp(session, counter):
            return Changed(False, [token])
        ttype.after_success(session, counter, moment)
        return Changed(True, [token])

    def setpin(self, session: Session, actor: Actor, req: SetPinRequest) -> Changed:
        self._admin_only(actor, "setpin")
        token = self.access.get(session, actor, req.serial)
        if self.type_of(token).pin_mode is PinMode.NONE:
            return Changed(0, [token])
        owner = self.access.owner_of(session, token) if token.owner is not None else None
        # privacyIDEA checks the PIN rules of the admin (user) setting it here too.
        self._enroller.rules(session, actor, owner, owner.realm if owner else None).check_pin(
            req.otppin
        )
        token.pin_hash = self.hasher.hash(req.otppin) if req.otppin else ""
        self.pin_changed(session, actor, token)
        return Changed(1, [token])

    def pin_changed(self, session: Session, actor: Actor, token: Token) -> None:
        """A new PIN fulfils ``next_pin_change``; an administrator setting the PIN of a
        user's token under ``change_pin_on_first_use`` marks it again (privacyIDEA)."""
        delete_info(token, NEXT_PIN_CHANGE)
        if not actor.is_admin or token.owner is None:
            return
        owner = self.access.owner_of(session, token)
        if (
            owner is not None
            and self._enroller.rules(session, actor, owner, owner.realm).change_pin_on_first_use
        ):
            mark_pin_change(token, type(self.type_of(token)))

    def set_description(self, session: Session, actor: Actor, req: DescriptionRequest) -> Changed:
        self._admin_only(actor, "description")
        token = self.access.get(session, actor, req.serial)
        token.description = req.description
        return Changed(True, [token])

    def set(self, session: Session, actor: Actor, req: SetRequest) -> Changed:
        """``POST /token/set``: the value is the number of attributes written."""
        others = req.model_fields_set - {"serial", "serials", "user", "realm", "description"}
        self._admin_only(actor, "description" if not others else "set attributes of")
        for key in ("validity_period_start", "validity_period_end"):
            value = getattr(req, key)
            if value:
                parse_validity(value)
        tokens = self._select(session, actor, req, many=False)
        count = 0
        for token in tokens:
            count += self._set_one(token, req)
        return Changed(count, tokens)

    @staticmethod
    def _set_one(token: Token, req: SetRequest) -> int:
        count = 0
        columns = {
            "description": "description",
            "count_window": "count_window",
            "sync_window": "sync_window",
            "max_failcount": "maxfail",
        }
        for param, column in columns.items():
            value = getattr(req, param)
            if value is not None:
                setattr(token, column, value)
                count += 1
        for key in (
            "count_auth_max",
            "count_auth_success_max",
            "hashlib",
            "validity_period_start",
            "validity_period_end",
        ):
            value = getattr(req, key)
            if value is not None:
                set_info(token, key, str(value))
                count += 1
        return count

    def set_realms(self, session: Session, actor: Actor, req: RealmRequest) -> Changed:
        """Replace the token realms; the owner's realm always stays."""
        self._admin_only(actor, "set realms of")
        token = self.access.get(session, actor, req.serial)
        wanted = {name.lower() for name in split_list(req.realms)}
        if token.owner is not None:
            wanted.add(token.owner.realm.name)
        for member in list(token.realms):
            if member.realm.name not in wanted:
                token.realms.remove(member)
        session.flush()
        add_realms(session, token, sorted(wanted))
        return Changed(True, [token])

    def set_info(self, session: Session, actor: Actor, req: InfoRequest) -> Changed:
        self._admin_only(actor, "set tokeninfo of")
        token = self.access.get(session, actor, req.serial)
        self._refuse_owned_key(token, req.key)
        set_info(token, req.key, req.value)
        return Changed(True, [token])

    def delete_info(self, session: Session, actor: Actor, req: InfoRequest) -> Changed:
        self._admin_only(actor, "delete tokeninfo of")
        token = self.access.get(session, actor, req.serial)
        self._refuse_owned_key(token, req.key)
        delete_info(token, req.key)
        return Changed(True, [token])

    def _refuse_owned_key(self, token: Token, key: str) -> None:
        if key in self.type_of(token).owned_info_keys:
            raise TokenPolicyError(f"The tokeninfo key {key!r} is managed by the token type.")

    def assign_groups(self, session: Session, actor: Actor, req: GroupAssignRequest) -> Changed:
        self._admin_only(actor, "change groups of")
        token = self.access.get(session, actor, req.serial)
        if req.groupname:
            return Changed(self.groups.assign(session, token, [req.groupname]), [token])
        return Changed(self.groups.set_groups(session, token, req.groups or []), [token])

    def unassign_group(self, session: Session, actor: Actor, req: GroupAssignRequest) -> Changed:
        self._admin_only(actor, "change groups of")
        token = self.access.get(session, actor, req.serial)
        return Changed(self.groups.unassign(session, token, req.groupname or ""), [token])
