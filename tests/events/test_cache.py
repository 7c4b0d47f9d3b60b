"""The per-process cache: two processes (two Services) on one database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from factorflow.bootstrap import Services, build_services
from factorflow.events.cache import DefinitionCache
from factorflow.events.definition import UnrunnableHandler
from factorflow.events.models import EventDefinition
from factorflow.events.service import DefinitionInput
from factorflow.settings import Settings
from tests.clocks import SecondsClock


@pytest.fixture
def other(settings: Settings, services: Services) -> Iterator[Services]:
    """A second process on the same database."""
    built = build_services(settings, migrate=False)
    try:
        yield built
    finally:
        built.close()


def names(
    cache: DefinitionCache, services: Services, event: str, position: str = "post"
) -> list[str]:
    with services.sessions() as session:
        return [d.name for d in cache.for_event(session, event, position)]


def save(services: Services, **fields: object) -> int:
    with services.sessions.begin() as session:
        return services.events.save(session, DefinitionInput(**fields), "admin")  # type: ignore[arg-type]


def test_another_process_sees_a_change_within_the_reload_interval(
    services: Services, other: Services
) -> None:
    assert other.settings.config_reload_seconds <= 1.0  # "within a second"
    clock = SecondsClock()
    cache = DefinitionCache(other.sessions, other.events.handlers,
                            other.settings.config_reload_seconds, clock)  # fmt: skip
    assert names(cache, other, "auth") == []
    definition_id = save(services, name="d1", events=["auth"], handlermodule="Logging",
                         action="logging")  # fmt: skip
    assert names(cache, other, "auth") == []  # still within the interval: no DB round trip
    clock.now += other.settings.config_reload_seconds
    assert names(cache, other, "auth") == ["d1"]
    with services.sessions.begin() as session:
        services.events.set_active(session, definition_id, False, "admin")
    clock.now += other.settings.config_reload_seconds
    assert names(cache, other, "auth") == []


def test_the_writing_process_sees_its_commit_at_once(services: Services) -> None:
    assert names(services.events.cache, services, "auth") == []
    save(services, name="d1", events=["auth", "validate_check"], handlermodule="Logging",
         action="logging", position="pre")  # fmt: skip
    assert names(services.events.cache, services, "auth", "pre") == ["d1"]
    assert names(services.events.cache, services, "validate_check", "pre") == ["d1"]
    assert names(services.events.cache, services, "auth", "post") == []


def test_a_rolled_back_change_is_never_cached(services: Services) -> None:
    cache = services.events.cache
    names(cache, services, "auth")
    with services.sessions() as session:
        services.events.save(session, DefinitionInput(name="ghost", events=["auth"],
                             handlermodule="Logging", action="logging"), "admin")  # fmt: skip
        # the writing session itself does not reload from its uncommitted state
        assert [d.name for d in cache.for_event(session, "auth", "post")] == []
        session.rollback()
    cache.invalidate()
    assert names(cache, services, "auth") == []


def test_order_and_broken_rows(services: Services) -> None:
    save(services, name="b", events=["auth"], handlermodule="Logging", action="logging",
         ordering=2)  # fmt: skip
    save(services, name="a", events=["auth"], handlermodule="Logging", action="logging",
         ordering=2)  # fmt: skip
    save(services, name="z", events=["auth"], handlermodule="Logging", action="logging",
         ordering=-1)  # fmt: skip
    with services.sessions.begin() as session:
        # A row that no longer validates (e.g. its module was uninstalled).
        session.add(EventDefinition(name="broken", events=["auth"], handlermodule="Gone",
                                    action="x"))  # fmt: skip
        from factorflow.events.cache import bump_version

        bump_version(session)
    services.events.cache.invalidate()
    # A row that no longer validates runs as a stand-in that fails (never silently
    # skipped: an abort_on_error guard must fail closed).
    assert names(services.events.cache, services, "auth") == ["z", "broken", "b", "a"]
    snapshot = services.events.cache.snapshot()
    assert list(snapshot.broken.values()) and "Gone" in next(iter(snapshot.broken.values()))
    stand_in = snapshot.index[("auth", "post")][1]
    assert isinstance(stand_in.handler, UnrunnableHandler) and stand_in.handlermodule == "Gone"
