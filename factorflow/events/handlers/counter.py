"""Counter: event counters in table ``eventcounter`` (reference §4.5).

Each node changes only its own row (no cross-node lock contention); the logical
value is the sum over nodes, which the ``counter`` condition reads.
"""

from __future__ import annotations

from pydantic import Field
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from factorflow.events.handlers.base import ActionContext, ActionOptions, EventHandler
from factorflow.events.models import EventCounter

Name = Field(
    title="Counter name",
    min_length=1,
    max_length=80,
    alias="counter_name",
    description="The counter",
)


class CounterOptions(ActionOptions):
    counter_name: str = Name


class DecreaseOptions(ActionOptions):
    counter_name: str = Name
    allow_negative_values: bool = Field(
        title="Allow negative values", default=False, description="Let the counter go below zero"
    )


def _add(session: Session, name: str, node: str, delta: int) -> None:
    stmt = (
        update(EventCounter)
        .where(EventCounter.counter_name == name, EventCounter.node == node)
        .values(value=EventCounter.value + delta)
        .execution_options(synchronize_session=False)
    )
    if session.execute(stmt).rowcount:  # type: ignore[attr-defined]
        return
    try:
        with session.begin_nested():
            session.execute(insert(EventCounter).values(counter_name=name, node=node, value=delta))
    except IntegrityError:
        # Another request of this node created the row first.
        session.execute(stmt)


def counter_total(session: Session, name: str) -> int:
    total = session.scalar(
        select(func.sum(EventCounter.value)).where(EventCounter.counter_name == name)
    )
    return int(total or 0)


def reset(session: Session, name: str, node: str) -> None:
    stmt = (
        update(EventCounter)
        .where(EventCounter.counter_name == name)
        .values(value=0)
        .execution_options(synchronize_session=False)
    )
    if not session.execute(stmt).rowcount:  # type: ignore[attr-defined]
        _add(session, name, node, 0)


class CounterHandler(EventHandler):
    identifier = "Counter"
    description = "Count events in named counters (summed over all nodes)."
    case_sensitive_actions = True
    actions = {
        "increase_counter": CounterOptions,
        "decrease_counter": DecreaseOptions,
        "reset_counter": CounterOptions,
    }

    def run(self, ctx: ActionContext, action: str, options: ActionOptions) -> None:
        assert isinstance(options, CounterOptions | DecreaseOptions)
        node = ctx.ports.settings.node_name
        name = options.counter_name
        if action == "increase_counter":
            _add(ctx.session, name, node, 1)
        elif action == "decrease_counter":
            assert isinstance(options, DecreaseOptions)
            if options.allow_negative_values or counter_total(ctx.session, name) > 0:
                _add(ctx.session, name, node, -1)
            else:
                # A total at or below zero is healed to zero, as privacyIDEA does.
                reset(ctx.session, name, node)
        else:
            reset(ctx.session, name, node)
