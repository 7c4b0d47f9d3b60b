"""Prometheus metrics of the event framework and the request pipeline.

One :class:`EventMetrics` per :class:`~factorflow.events.service.EventService` (so
one per ``Services``), each with its own ``CollectorRegistry``: nothing is
registered in prometheus-client's global registry, and tests never see each
other's counts.

Per definition (labels ``definition_id``, ``definition``):

* ``factorflow_event_definition_evaluated_total`` — conditions evaluated;
* ``factorflow_event_definition_matched_total`` / ``..._skipped_total`` — the
  action fired / the conditions did not hold;
* ``factorflow_event_definition_actions_total{result="ok"|"failed"}``;
* ``factorflow_event_definition_action_seconds`` — histogram of the action's run time.

Per request: ``factorflow_requests_total{event, status}`` and the histogram
``factorflow_request_seconds{event}`` (from the start of the pipeline to the final
reply, without the audit write).

Multiple processes (``factorflow serve --workers N``): each process counts on its
own. When ``PROMETHEUS_MULTIPROC_DIR`` is set in the environment before the
server starts (an empty directory, e.g. ``<data_dir>/prometheus``, wiped at each
start), prometheus-client writes the values to files there and :meth:`render`
serves the sum over all processes. Without it, a scrape sees the counts of the one
process that answered it.
"""

from __future__ import annotations

import hmac
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.metrics_core import Metric

CONTENT_TYPE = CONTENT_TYPE_LATEST
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

ACTION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
REQUEST_BUCKETS = (*ACTION_BUCKETS, 30.0)


@dataclass(frozen=True)
class DefinitionMetrics:
    """The bound children of one definition (labels looked up once, not per request)."""

    evaluated: Counter
    matched: Counter
    skipped: Counter
    ok: Counter
    failed: Counter
    seconds: Histogram


class EventMetrics:
    def __init__(self, node: str = "") -> None:
        #: The ``node`` label every sample carries when rendered (Settings.node_name):
        #: one scrape per node behind a balancer tells the nodes apart.
        self.node = node
        self.registry = CollectorRegistry(auto_describe=True)
        labels = ("definition_id", "definition")
        r = self.registry
        self.evaluated = Counter(
            "factorflow_event_definition_evaluated",
            "Times a definition's conditions were evaluated.",
            labels,
            registry=r,
        )
        self.matched = Counter(
            "factorflow_event_definition_matched",
            "Times a definition's conditions held (its action ran).",
            labels,
            registry=r,
        )
        self.skipped = Counter(
            "factorflow_event_definition_skipped",
            "Times a definition's conditions did not hold.",
            labels,
            registry=r,
        )
        self.actions = Counter(
            "factorflow_event_definition_actions",
            "Action runs of a definition by result (ok, failed).",
            (*labels, "result"),
            registry=r,
        )
        self.action_seconds = Histogram(
            "factorflow_event_definition_action_seconds",
            "Run time of a definition's action.",
            labels,
            buckets=ACTION_BUCKETS,
            registry=r,
        )
        self.requests = Counter(
            "factorflow_requests",
            "Requests by event and HTTP status.",
            ("event", "status"),
            registry=r,
        )
        self.request_seconds = Histogram(
            "factorflow_request_seconds",
            "Request latency through the pipeline by event.",
            ("event",),
            buckets=REQUEST_BUCKETS,
            registry=r,
        )
        self._definitions: dict[tuple[int, str], DefinitionMetrics] = {}
        self._request_children: dict[tuple[str, int], Counter] = {}
        self._latency_children: dict[str, Histogram] = {}
        self._lock = threading.Lock()

    def definition(self, definition_id: int, name: str) -> DefinitionMetrics:
        key = (definition_id, name)
        found = self._definitions.get(key)
        if found is not None:
            return found
        values = (str(definition_id), name)
        with self._lock:
            found = self._definitions.get(key)
            if found is None:
                found = DefinitionMetrics(
                    evaluated=_child(self.evaluated, *values),
                    matched=_child(self.matched, *values),
                    skipped=_child(self.skipped, *values),
                    ok=_child(self.actions, *values, "ok"),
                    failed=_child(self.actions, *values, "failed"),
                    seconds=_child(self.action_seconds, *values),
                )
                self._definitions[key] = found
        return found

    def request(self, event: str, status: int, seconds: float) -> None:
        counter = self._request_children.get((event, status))
        if counter is None:
            counter = _child(self.requests, event, str(status))
            self._request_children[(event, status)] = counter
        counter.inc()
        histogram = self._latency_children.get(event)
        if histogram is None:
            histogram = _child(self.request_seconds, event)
            self._latency_children[event] = histogram
        histogram.observe(max(seconds, 0.0))

    def render(self) -> bytes:
        """The Prometheus text exposition (all processes' sum in multiprocess mode)."""
        directory = os.environ.get(MULTIPROC_ENV)
        if directory and os.path.isdir(directory):
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
            return generate_latest(_NodeLabelled(registry, self.node))
        return generate_latest(_NodeLabelled(self.registry, self.node))


class _NodeLabelled(CollectorRegistry):
    """A registry's samples with the ``node`` label added (added at render time, so
    that the counters' children stay looked up by their own labels)."""

    def __init__(self, source: CollectorRegistry, node: str) -> None:
        super().__init__(auto_describe=False)
        self._source, self._node = source, node

    def collect(self) -> Iterator[Metric]:
        for family in self._source.collect():
            if self._node:
                family.samples = [
                    sample._replace(labels={**sample.labels, "node": self._node})
                    for sample in family.samples
                ]
            yield family


M = TypeVar("M", bound=MetricWrapperBase)


TOKEN_FILE = "metrics.token"  # noqa: S105 - a file name, not a secret


def token_accepted(data_dir: Path, authorization: str | None) -> bool:
    """Whether ``authorization`` (``Bearer <token>`` or the bare token) matches the
    scrape token in ``<data_dir>/metrics.token``; False when that file is missing
    or empty (then only an admin JWT reads ``/metrics``)."""
    if not authorization:
        return False
    try:
        expected = (data_dir / TOKEN_FILE).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return False
    if not expected:
        return False
    given = authorization.strip()
    if given.lower().startswith("bearer "):
        given = given[7:].strip()
    return hmac.compare_digest(given.encode(), expected.encode())


def _child(metric: M, *values: str) -> M:
    return metric.labels(*values)
