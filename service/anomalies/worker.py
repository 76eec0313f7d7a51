"""The in-server background work: the periodic sweep and the webhook deliverer.

Two daemon threads per process, so neither waits for the other: the sweep wakes every
``Settings.sweep_interval_seconds`` (0 disables all background work) and runs in its own write
transaction; the deliverer looks for due outbox rows every ``DELIVERY_INTERVAL`` and sends them
outside any transaction (see :mod:`service.anomalies.webhooks`). A round runs only while
``leading()`` says this process leads (:mod:`service.leader`: one process at a time across
all servers). Should two ever overlap (a round under way when its leader lost the lock), that
is safe: inserts are ON CONFLICT DO NOTHING; escalation and delivery claims lock rows with
SKIP LOCKED on PostgreSQL.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable

import httpx
from sqlalchemy import Engine

from service.anomalies.profile import Profiles
from service.anomalies.sweep import run_sweep
from service.anomalies.webhooks import RoundReport, deliver_round, has_due, send_one
from service.db import session_scope, utcnow
from service.observability.metrics import SWEEP_DURATION, WEBHOOK_DELIVERIES, WEBHOOK_PAUSED

log = logging.getLogger(__name__)

DELIVERY_INTERVAL = 5.0


class BackgroundWorker:
    def __init__(
        self,
        engine: Engine,
        *,
        interval_seconds: float,
        profiles: Profiles,
        allow_private_addresses: bool = False,
        leading: Callable[[], bool] = lambda: True,
    ) -> None:
        self.engine = engine
        self.leading = leading
        self.allow_private = allow_private_addresses
        self.interval = interval_seconds
        self.profiles = profiles
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        if self.interval <= 0 or self._threads:
            return
        for name, target in (
            ("medwaste-sweep", self._sweep_loop),
            ("medwaste-webhooks", self._delivery_loop),
        ):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=15)
        self._threads = []

    def sweep_once(self) -> None:
        now = utcnow()
        started = time.perf_counter()
        with session_scope(self.engine, write=True) as session:
            report = run_sweep(session=session, now=now, profiles=self.profiles)
        SWEEP_DURATION.observe(time.perf_counter() - started)
        if report.new or report.escalated:
            log.info("sweep: %d new, %d escalated", len(report.new), len(report.escalated))

    def deliver_once(self, client: httpx.Client) -> RoundReport:
        with session_scope(self.engine) as session:
            if not has_due(session, utcnow()):
                return RoundReport()
        report = deliver_round(
            transaction=lambda: session_scope(self.engine, write=True),
            client=client,
            clock=utcnow,
            send=functools.partial(send_one, allow_private=self.allow_private),
        )
        for outcome in ("delivered", "retry", "failed"):
            WEBHOOK_DELIVERIES.labels(outcome=outcome).inc(getattr(report, outcome))
        WEBHOOK_PAUSED.inc(report.paused)
        if report.retry or report.failed or report.paused:
            log.warning(
                "webhooks: %d delivered, %d to retry, %d given up, %d subscriptions paused",
                report.delivered,
                report.retry,
                report.failed,
                report.paused,
            )
        return report

    def _sweep_loop(self) -> None:
        self._loop(self.sweep_once, self.interval, "anomaly sweep failed")

    def _delivery_loop(self) -> None:
        with httpx.Client(follow_redirects=False) as client:
            self._loop(lambda: self.deliver_once(client), DELIVERY_INTERVAL, "delivery failed")

    def _loop(self, work: Callable[[], object], interval: float, failure: str) -> None:
        while not self._stop.is_set():
            try:
                if self.leading():
                    work()
            except Exception:  # keep the worker alive; the next round retries
                log.exception(failure)
            self._stop.wait(interval)
