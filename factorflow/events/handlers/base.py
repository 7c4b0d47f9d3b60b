"""The handler-module plug-in API.

A handler module subclasses :class:`EventHandler`, declares its ``identifier`` (the
name definitions use, e.g. ``Token``), the positions it allows, whether a failure
aborts the request by default, and its actions — each with a pydantic options
model whose field *aliases* are privacyIDEA's option names (``"count window"``,
``"JSON pointer"``). It is registered under the entry-point group
``factorflow.event_handlers``; built-ins register the same way. The server makes
one instance of each module at start-up (:meth:`EventHandler.create`, given the
settings) and shares it between every request and thread. Example::

    class HelloOptions(ActionOptions):
        greeting: Template = "hello {username}"

    class HelloHandler(EventHandler):
        identifier = "Hello"
        actions = {"greet": HelloOptions}

        def run(self, ctx: ActionContext, action: str, options: ActionOptions) -> None:
            assert isinstance(options, HelloOptions)
            log.info(ctx.render(options.greeting))

The same options model validates ``POST /event`` (a bad value is refused with the
option's name, nothing stored), produces what ``GET /event/actions/<module>``
returns and drives the web UI form.

An option that holds a credential (a password, a signing secret, headers with an
``Authorization`` value) is typed :data:`Secret`: its value is encrypted at rest,
answered as ``__CENSORED__`` (sending that back keeps the stored value), left out of
exports and the audit, and ``run`` gets the real value. Its descriptor says
``"secret": true`` so the UI renders a password field.

A module whose actions depend on the configuration overrides :meth:`EventHandler.create`
to hand what it needs to its constructor, and keeps it on the instance (Script: the
script directory, whose executables are its ``actions``). An options model whose
validators need that configuration reads it from pydantic's validation context
(``info.context``), which the module supplies in :meth:`EventHandler.options_context`
(UserNotification: the template directory ``file:`` bodies are read from).

Contract for ``run``: do the action in ``ctx.session`` (the request's unit of work;
the dispatcher wraps each action in a SAVEPOINT so a failure leaves nothing
behind); raise on failure (:class:`ActionError` for expected ones; the audit
shows only the class name); set ``ctx.run_details`` to add a note to the audit
info; post actions may replace ``ctx.reply``. Never emit events. Keep what a run
needs in ``ctx`` (``ctx.notes``), never on ``self``: the instance is shared.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict
from sqlalchemy.orm import Session

from factorflow.core.describe import (
    CHOICES,
    CHOICES_FROM,
    VISIBLE_IF,
    Secret,
    describe_options,
    is_secret,
    secret_options,
)
from factorflow.core.invocation import Invocation, Outcome, Reply
from factorflow.events.errors import ActionError
from factorflow.events.facts import Facts
from factorflow.events.tags import check_template, render

if TYPE_CHECKING:
    from factorflow.events.ports import ActionPorts
    from factorflow.settings import Settings
    from factorflow.tokens.models import Token

Position = Literal["pre", "post"]

#: An option text in which tags are substituted; unknown tags are refused on save.
Template = Annotated[str, AfterValidator(check_template)]


class ActionOptions(BaseModel):
    """Base of every action's options; unknown options are refused."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class NoOptions(ActionOptions):
    pass


@dataclass(frozen=True)
class PerformedRequest:
    """An API request an action performed (as :class:`Invocation` would carry it) and
    its result: what the definitions of ``event`` see when the definition chains."""

    event: str
    method: str
    rule: str
    params: dict[str, Any]
    result: Outcome


@dataclass
class ActionContext:
    """What an action gets: its ports (the domain's use cases, the job sink, the secret
    box, the settings: :class:`~factorflow.events.ports.ActionPorts`), the request's
    unit-of-work session to pass to them, the invocation, the shared facts, the
    definition's name and position, and (post) the live reply."""

    ports: ActionPorts
    session: Session
    inv: Invocation
    facts: Facts
    definition_name: str
    position: Position
    #: The definition's database id (names are not unique, as in privacyIDEA).
    definition_id: int = 0
    run_details: str = ""
    notes: dict[str, Any] = field(default_factory=dict)
    #: The API requests the action performed (:meth:`performed_request`).
    performed: list[PerformedRequest] = field(default_factory=list)

    def performed_request(
        self,
        event: str,
        rule: str,
        params: Mapping[str, Any],
        *,
        method: str = "POST",
        value: Any = True,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        """Note that the action did what the API request ``event`` does, with these
        parameters and this result; a definition with ``chain_events`` then runs that
        event's definitions (the dispatcher decides; the action never emits events)."""
        outcome = Outcome(value=value, detail=dict(detail or {}))
        self.performed.append(PerformedRequest(event, method, rule, dict(params), outcome))

    @property
    def reply(self) -> Reply | None:
        return self.facts.reply

    @reply.setter
    def reply(self, value: Reply) -> None:
        self.facts.reply = value

    def render(self, text: str, token: Token | None = None) -> str:
        return render(text, self.facts, token)


class EventHandler(ABC):
    """A handler module. One instance per module, made by :meth:`create` when the server
    starts and shared by every request and thread (see the module contract)."""

    identifier: ClassVar[str]
    description: ClassVar[str] = ""
    positions: ClassVar[tuple[Position, ...]] = ("post", "pre")
    default_abort_on_error: ClassVar[bool] = False
    #: Action name → its options model. Usually declared on the class; a module whose
    #: actions depend on the configuration sets it in ``__init__`` (Script).
    actions: Mapping[str, type[ActionOptions]]
    #: privacyIDEA compares most modules' action names case-insensitively.
    case_sensitive_actions: ClassVar[bool] = False
    #: Whether definitions of this module may run on a schedule, where there is no
    #: request and no response: the action sees only the swept token or user (its
    #: parameters ``serial`` / ``user`` / ``realm``), ``ctx.reply`` is None and the
    #: caller is the admin ``scheduler``. True for modules that act on token and user
    #: facts; a module that reads or changes the request or response says False and
    #: is refused on save of a scheduled definition.
    schedulable: ClassVar[bool] = True
    #: Action → the API event it performs (the action calls
    #: :meth:`ActionContext.performed_request`); only these actions may be saved with
    #: ``chain_events``. Empty: the module's actions perform no API request.
    chained_events: ClassVar[Mapping[str, str]] = {}

    @classmethod
    def create(cls, settings: Settings) -> Self:
        """The instance the server registers, made once at start-up. A module whose
        actions depend on the configuration overrides this to pass what it needs to its
        constructor (Script: the script directory); the default is ``cls()``."""
        del settings
        return cls()

    @abstractmethod
    def run(self, ctx: ActionContext, action: str, options: ActionOptions) -> None:
        """Carry out ``action``; raise on failure."""

    def options_context(self) -> dict[str, Any]:
        """What the options models' validators get as pydantic's ``info.context`` when a
        definition's options are compiled (on save and when definitions are loaded):
        the configuration they check values against. The default is empty."""
        return {}

    def check_references(self, session: Session, action: str, options: ActionOptions) -> None:
        """Checks of a definition's options against stored configuration, when it is
        saved (e.g. that a named SMTP server exists); raise ValueError naming the
        option. The default checks nothing."""
        del session, action, options

    def canonical_action(self, name: str) -> str | None:
        """The declared spelling of ``name``, or None if the module has no such action."""
        if name in self.actions:
            return name
        if self.case_sensitive_actions:
            return None
        for declared in self.actions:
            if declared.lower() == name.lower():
                return declared
        return None

    def describe_actions(
        self, configured: Mapping[str, list[str]] | None = None
    ) -> dict[str, dict[str, dict[str, Any]]]:
        """``GET /event/actions/<module>``: action → option → descriptor.
        ``configured`` holds the live lists that options naming stored configuration
        offer as choices (see :func:`describe_options`)."""
        return {name: describe_options(model, configured) for name, model in self.actions.items()}


__all__ = [
    "CHOICES",
    "CHOICES_FROM",
    "VISIBLE_IF",
    "ActionContext",
    "ActionError",
    "ActionOptions",
    "EventHandler",
    "NoOptions",
    "PerformedRequest",
    "Position",
    "Secret",
    "Template",
    "describe_options",
    "is_secret",
    "secret_options",
]
