"""The short soak of issue 21 (under 3 minutes each): three nodes behind HAProxy on
PostgreSQL and on a three-node Galera cluster, a node SIGKILLed and restarted (and a
database node killed and rejoined), every invariant holding. Skipped, with the reason,
where HAProxy or Galera cannot start; the long form runs by hand:
``python -m tests.cluster.soak --minutes 5 --database galera``."""

from __future__ import annotations

import os

import pytest

from tests.cluster import cluster as topology
from tests.cluster.soak import report, soak

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(600)]

#: Seconds of traffic in the suite's form (the long form: --minutes).
SECONDS = float(os.environ.get("FACTORFLOW_SOAK_SECONDS", "75"))


#: The suite's database decides the cluster's: PostgreSQL's suite runs the soak on
#: PostgreSQL, MariaDB's on a Galera cluster of its own (SQLite has no shared server).
SUITE = {"postgresql": "postgresql", "mariadb": "galera"}


@pytest.mark.parametrize("database", topology.DATABASES)
def test_invariants_hold_while_a_node_is_killed(database: str) -> None:
    suite = os.environ.get("FACTORFLOW_TEST_DATABASE", "sqlite")
    if SUITE.get(suite) != database:
        pytest.skip(f"the {database} cluster runs in the {database.replace('galera', 'mariadb')}"
                    f" suite (FACTORFLOW_TEST_DATABASE), this is the {suite} suite")  # fmt: skip
    reason = topology.unavailable(database)
    if reason:
        pytest.skip(reason)
    with topology.running(database, nodes=3) as cluster:
        invariants = soak(cluster, SECONDS)
    print(f"\n{database}:\n{report(invariants)}")
    failed = [i for i in invariants if not i.ok]
    assert not failed, report(invariants)
