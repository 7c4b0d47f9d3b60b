"""Every route says what its parameters touch (``factorflow.policies.targets``)."""

from __future__ import annotations

from collections import defaultdict

from factorflow.api.app import collect_routes
from factorflow.api.routing import RouteSpec
from factorflow.policies.rights import PUBLIC
from factorflow.policies.targets import OBJECT_PARAMS, TARGETS, declared_params
from tests.policies.conftest import route_params


def _routes() -> list[RouteSpec]:
    return [spec for routes in collect_routes() for spec in routes.specs]


def test_every_event_declares_its_targets() -> None:
    events = {spec.endpoint.event for spec in _routes()} - PUBLIC
    assert not events - set(TARGETS), f"declare in TARGETS: {sorted(events - set(TARGETS))}"
    assert not set(TARGETS) - events, f"no route has these events: {set(TARGETS) - events}"


def test_every_object_parameter_of_a_route_is_declared() -> None:
    undeclared = []
    for spec in _routes():
        event = spec.endpoint.event
        missing = (route_params(spec) & OBJECT_PARAMS) - declared_params(event)
        if event not in PUBLIC and missing:
            undeclared.append(f"{spec.paths[0]} ({event}): {sorted(missing)}")
    assert not undeclared, f"declare these parameters in TARGETS: {undeclared}"


def test_declared_parameters_exist() -> None:
    """A typo in TARGETS would silently check nothing: every declared parameter is a
    parameter of a route of the event, or the routes take free parameters."""
    params: dict[str, set[str]] = defaultdict(set)
    free: set[str] = set()
    for spec in _routes():
        params[spec.endpoint.event] |= route_params(spec)
        if spec.endpoint.params.model_config.get("extra") == "allow":
            free.add(spec.endpoint.event)
    unknown = {
        event: sorted(declared_params(event) - params[event])
        for event in TARGETS
        if event not in free and declared_params(event) - params[event]
    }
    assert not unknown, f"TARGETS declares parameters the routes do not take: {unknown}"
