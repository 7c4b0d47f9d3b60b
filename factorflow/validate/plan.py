"""The plan of one ``/validate/check``: what it learnt before it took the write lock.

A check has two halves. Choosing — who the user is, which of the user's tokens are
candidates, whose PIN matches — only reads, and its cost is argon2 (one hash per
PIN tried) or a bind to the user store (``otppin=userstore``, ``passthru``).
Carrying out — challenges, the OTP claim, counters — writes. Where the database lets
one writer in at a time (SQLite), the choosing half runs first on a read session
(:meth:`ValidateService.prepare`), and the check proper, holding the write lock,
chooses again with the plan's answers instead of paying for them a second time.

The plan is passed explicitly: the pipeline hands it to the endpoint as
``Call.prepared`` and the route to :meth:`ValidateService.check`. Only exact
answers are kept — a PIN verification by (token, stored hash, PIN), a password
check by (store, user id, password) — so a choice made again on the fresh rows of the
write session is the one the request would have made without a plan: a token whose
PIN changed in between has a new hash and is verified afresh.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from factorflow.tokens.models import Token
from factorflow.users.identity import User
from factorflow.validate.policy import PasswordStore, PinCheck
from factorflow.validate.requests import CheckRequest


class Verifications:
    """The answers of one check's slow verifications, keyed by what they were computed
    from. Each is asked of the real verifier once per plan."""

    def __init__(self) -> None:
        self._answers: dict[tuple[Hashable, ...], bool] = {}

    def __len__(self) -> int:
        return len(self._answers)

    def token_pins(self, verify: PinCheck) -> PinCheck:
        """``verify`` (a token's PIN check), answered from the plan where it was asked."""

        def checked(token: Token, pin: str) -> bool:
            key = ("pin", token.id, token.pin_hash or "", pin)
            return self.answer(key, lambda: verify(token, pin))

        return checked

    def passwords(self, store: PasswordStore) -> PasswordStore:
        """``store``'s password checks, answered from the plan where they were asked."""
        return _RememberedPasswords(store, self)

    def answer(self, key: tuple[Hashable, ...], compute: Callable[[], bool]) -> bool:
        """``compute()``, asked once per ``key``: the first answer stands."""
        if key not in self._answers:
            self._answers[key] = compute()
        return self._answers[key]


@dataclass
class _RememberedPasswords:
    store: PasswordStore
    verifications: Verifications

    def check_password(self, session: Session, user: User, password: str) -> bool:
        key = ("password", user.resolver, user.uid, password)
        return self.verifications.answer(
            key, lambda: self.store.check_password(session, user, password)
        )


@dataclass
class CheckPlan:
    """What a check of ``request`` learnt so far. A plan made for other parameters
    (pre definitions may change them after it was made) is not used."""

    request: CheckRequest
    #: The user the request names, as the user store answered (None: not asked yet,
    #: or the request names a serial only).
    user: User | None = None
    #: The user store said it has no such user (the check answers so without asking
    #: again).
    unknown_user: bool = False
    verifications: Verifications = field(default_factory=Verifications)

    def serves(self, request: CheckRequest) -> bool:
        return self.request == request


__all__ = ["CheckPlan", "Verifications"]
