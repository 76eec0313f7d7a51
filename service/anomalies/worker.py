"""The in-server background work: the periodic sweep and the webhook deliverer.

One daemon thread per process wakes every ``Settings.sweep_interval_seconds`` (0 disables it),
runs the sweep in its own write transaction, then sends what the outbox holds. Concurrent
sweeps in several processes are safe (inserts are ON CONFLICT DO NOTHING; escalation and
delivery lock rows with SKIP LOCKED on PostgreSQL).
"""

from __future__ import annotations

import logging
import threading

import httpx
from sqlalchemy import Engine

from service.anomalies.sweep import run_sweep
from service.anomalies.webhooks import deliver_due
from service.db import session_scope, utcnow

log = logging.getLogger(__name__)


class BackgroundWorker:
    def __init__(self, engine: Engine, *, interval_seconds: float, default_profile: str) -> None:
        self.engine = engine
        self.interval = interval_seconds
        self.default_profile = default_profile
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.interval <= 0 or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="medwaste-sweep", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def run_once(self, client: httpx.Client) -> None:
        now = utcnow()
        with session_scope(self.engine, write=True) as session:
            report = run_sweep(session=session, now=now, default_profile=self.default_profile)
        if report.new or report.escalated:
            log.info("sweep: %d new, %d escalated", len(report.new), len(report.escalated))
        with session_scope(self.engine, write=True) as session:
            deliver_due(session=session, client=client, now=utcnow())

    def _run(self) -> None:
        with httpx.Client() as client:
            while not self._stop.is_set():
                try:
                    self.run_once(client)
                except Exception:  # keep the worker alive; the next round retries
                    log.exception("anomaly sweep failed")
                self._stop.wait(self.interval)
