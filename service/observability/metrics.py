"""The service's Prometheus metrics, and how they are exposed.

Names and labels (the Grafana dashboard in ``docs/grafana-dashboard.json`` reads these):

- ``medwaste_http_request_duration_seconds{method, route, status}``: a histogram by route
  template (``/api/v1/containers/{container_id}``), never by raw path, so no container id
  reaches a label; a path no route matches is ``route="unmatched"``.
- ``medwaste_scans_total{action, outcome}``: ``accepted`` (a new custody event),
  ``refused`` (a refusal kept on record) or ``replayed`` (a retry answered from its receipt).
- ``medwaste_anomalies_total{kind}``: anomalies raised, by the scan detectors and the sweep.
- ``medwaste_sweep_duration_seconds``: the periodic sweep, its transaction included.
- ``medwaste_webhook_deliveries_total{outcome}``: ``delivered``, ``retry`` (failed, will go
  again), ``failed`` (given up) per attempt; ``medwaste_webhook_subscriptions_paused_total``.
- ``medwaste_webhook_backlog``: deliveries waiting, read from the database at each scrape.
- ``medwaste_db_pool_size``, ``medwaste_db_pool_checked_out``, ``medwaste_db_pool_overflow``:
  the SQLAlchemy connection pool of the process that answers the scrape.

Accepted and refused scans and anomalies are counted when their transaction commits
(:func:`count_on_commit`): a savepoint or a request rolled back takes its counts with it, so a
counted scan is a stored one. A replay stores nothing and counts when it is answered.

Several worker processes: with ``PROMETHEUS_MULTIPROC_DIR`` set (``medwaste serve --workers``
sets it), counters and histograms are kept in files there and every scrape adds up all
processes; the pool figures stay those of the process that answers.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.pool import QueuePool

CONTENT_TYPE = CONTENT_TYPE_LATEST
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# No ``*_created`` series: a process's start time is not what an operator graphs.
disable_created_metrics()  # type: ignore[no-untyped-call]

REQUEST_DURATION = Histogram(
    "medwaste_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
SCANS = Counter(
    "medwaste_scans",
    "Custody scans by action and outcome (accepted, refused, replayed).",
    ["action", "outcome"],
)
ANOMALIES = Counter("medwaste_anomalies", "Anomalies raised, by kind.", ["kind"])
SWEEP_DURATION = Histogram(
    "medwaste_sweep_duration_seconds",
    "Time one anomaly sweep took, its transaction included.",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
WEBHOOK_DELIVERIES = Counter(
    "medwaste_webhook_deliveries",
    "Webhook delivery attempts by outcome (delivered, retry, failed = given up).",
    ["outcome"],
)
WEBHOOK_PAUSED = Counter(
    "medwaste_webhook_subscriptions_paused",
    "Webhook subscriptions paused by themselves after failing for too long.",
)

_PENDING = "medwaste_metrics_pending"
Pending = list[tuple[SessionTransaction, Callable[[], None]]]


def count_on_commit(session: Session, count: Callable[[], None]) -> None:
    """Run ``count`` when the work done so far in ``session`` commits; never if the savepoint
    or transaction it was done in rolls back."""
    pending: Pending = session.info.setdefault(_PENDING, [])
    current = session.get_nested_transaction() or session.get_transaction()
    if current is None:
        count()
        return
    pending.append((current, count))


def count_scan(session: Session, *, action: str, outcome: str) -> None:
    """A scan accepted or refused, counted once what it recorded commits."""
    count_on_commit(session, SCANS.labels(action=action, outcome=outcome).inc)


def count_replay(*, action: str) -> None:
    """A retry answered from its receipt: it records nothing, so it counts at once (its
    transaction may well roll back: a refusal's replay writes nothing to keep)."""
    SCANS.labels(action=action, outcome="replayed").inc()


def count_anomalies(session: Session, kinds: Iterable[str]) -> None:
    for kind in kinds:
        count_on_commit(session, ANOMALIES.labels(kind=kind).inc)


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    # A savepoint's commit fires this too: its counts wait for the outermost commit.
    if session.in_nested_transaction():
        return
    pending: Pending = session.info.pop(_PENDING, [])
    for _transaction, count in pending:
        count()


@event.listens_for(Session, "after_soft_rollback")
def _rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    pending: Pending | None = session.info.get(_PENDING)
    if pending:
        pending[:] = [(tx, count) for tx, count in pending if not _within(tx, previous_transaction)]


@event.listens_for(Session, "after_transaction_end")
def _ended(session: Session, transaction: SessionTransaction) -> None:
    # A session closed without committing: what it counted never happened.
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


def _within(transaction: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


class PoolCollector(Collector):
    """The engine's connection pool, read at each scrape (pools without a size, such as
    SQLite's in-memory one, report nothing)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        pool = self.engine.pool
        if not isinstance(pool, QueuePool):
            return
        for name, doc, value in (
            ("medwaste_db_pool_size", "Connections the pool keeps.", pool.size()),
            ("medwaste_db_pool_checked_out", "Connections in use now.", pool.checkedout()),
            ("medwaste_db_pool_overflow", "Connections beyond the pool size.", pool.overflow()),
        ):
            yield GaugeMetricFamily(name, doc, value=max(value, 0))


class BacklogCollector(Collector):
    """Webhook deliveries waiting, counted in the database at each scrape (so that every
    process and every restart agrees)."""

    def __init__(self, backlog: Callable[[], int]) -> None:
        self.backlog = backlog

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "medwaste_webhook_backlog", "Webhook deliveries waiting.", value=self.backlog()
        )


class _ProcessMetrics(Collector):
    """This process's own registry (counters, histograms, process and GC figures)."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def exposition(collectors: Iterable[Collector]) -> bytes:
    """The text a scrape reads: every process's counters (multi-process mode) or this
    process's, then ``collectors`` (read now)."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get(MULTIPROC_ENV):
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(_ProcessMetrics())
    for collector in collectors:
        registry.register(collector)
    return generate_latest(registry)


def route_label(scope: Mapping[str, Any]) -> str:
    """The route template a request matched, or ``unmatched``: never the raw path."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else "unmatched"
