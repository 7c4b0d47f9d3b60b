"""The one version-checked cache that event definitions and policies share."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker

from factorflow.core.versioned_cache import OwnChanges, VersionedCache
from tests.clocks import SecondsClock


class Store:
    """The database's marker and the loads the cache made."""

    def __init__(self) -> None:
        self.version = "v1"
        self.loads: list[str] = []
        #: While set, reading the marker stalls until ``release`` is set.
        self.stall: tuple[threading.Event, threading.Event] | None = None

    def load(self, session: Session, version: str) -> str:
        self.loads.append(version)
        return f"snapshot of {version}"

    def read_version(self, session: Session) -> str:
        if self.stall is not None:
            entered, release = self.stall
            entered.set()
            release.wait(5)
        return self.version

    def bump(self, session: Session) -> None:
        session.info["bumped"] = True


@pytest.fixture
def sessions() -> Iterator[sessionmaker[Session]]:
    engine = create_engine("sqlite://")
    yield sessionmaker(engine)
    engine.dispose()


def cache_of(
    store: Store, clock: SecondsClock, own: OwnChanges, sessions: sessionmaker[Session]
) -> VersionedCache[str]:
    return VersionedCache(
        load=store.load,
        read_version=store.read_version,
        bump=store.bump,
        dirty_key="test.dirty",
        reload_seconds=1.0,
        own_changes=own,
        open_session=sessions,
        clock=clock,
    )


def test_the_marker_is_read_at_most_once_per_interval(sessions: sessionmaker[Session]) -> None:
    store, clock = Store(), SecondsClock(100.0)
    cache = cache_of(store, clock, "cached", sessions)
    assert cache.get() == "snapshot of v1"
    store.version = "v2"
    assert cache.get() == "snapshot of v1"  # within the interval: no database round trip
    clock.now += 1.0
    assert cache.get() == "snapshot of v2"
    clock.now += 1.0
    assert cache.get() == "snapshot of v2" and store.loads == ["v1", "v2"]  # unchanged: no load


@pytest.mark.parametrize(("own", "expected"), [("read", "uncommitted"), ("cached", "v1")])
def test_a_session_that_changed_the_configuration_never_fills_the_cache(
    sessions: sessionmaker[Session], own: OwnChanges, expected: str
) -> None:
    store, clock = Store(), SecondsClock(100.0)
    cache = cache_of(store, clock, own, sessions)
    cache.get()
    with sessions() as session:
        cache.changed(session)
        assert session.info["bumped"] and cache.is_dirty(session)
        assert cache.get(session) == f"snapshot of {expected}"
        store.version = "v2"
        session.rollback()  # a rolled-back change does not invalidate
    assert cache.get() == "snapshot of v1"
    with sessions() as session:
        cache.changed(session)
        session.commit()  # this process sees its commit at once
    assert cache.get() == "snapshot of v2"


def test_a_dirty_first_load_reads_a_session_of_its_own(sessions: sessionmaker[Session]) -> None:
    store, clock = Store(), SecondsClock(100.0)
    cache = cache_of(store, clock, "cached", sessions)
    with sessions() as session:
        cache.changed(session)
        assert cache.get(session) == "snapshot of v1"
    assert store.loads == ["v1"]


def test_a_reload_in_progress_is_not_waited_for(sessions: sessionmaker[Session]) -> None:
    store, clock = Store(), SecondsClock(100.0)
    cache = cache_of(store, clock, "cached", sessions)
    cache.get()
    clock.now += 1.0
    store.version = "v2"
    entered, release = threading.Event(), threading.Event()
    store.stall = (entered, release)
    reloader = threading.Thread(target=cache.get)
    reloader.start()
    try:
        assert entered.wait(5)
        # Another thread is reloading: the snapshot at hand, without waiting.
        assert cache.get() == "snapshot of v1"
    finally:
        store.stall = None
        release.set()
        reloader.join(5)
    assert cache.get() == "snapshot of v2"


def test_after_this_process_committed_a_change_a_busy_reload_does_not_serve_the_old_one(
    sessions: sessionmaker[Session],
) -> None:
    store, clock = Store(), SecondsClock(100.0)
    cache = cache_of(store, clock, "cached", sessions)
    cache.get()
    entered, release = threading.Event(), threading.Event()
    store.stall = (entered, release)
    clock.now += 1.0
    reloader = threading.Thread(target=cache.get)  # reloads for the period, and stalls
    reloader.start()
    try:
        assert entered.wait(5)
        store.stall = None
        with sessions() as session:
            store.version = "v2"
            cache.changed(session)
            session.commit()
        # A request that starts after the commit sees it, though a reload is under way.
        assert cache.get() == "snapshot of v2"
    finally:
        release.set()
        reloader.join(5)
    # The stalled reload read its marker before the commit: it does not count as a check.
    store.version = "v3"
    assert cache.get() == "snapshot of v3"
