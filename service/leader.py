"""Which process runs the background jobs: the anomaly sweep, webhook delivery, checkpoints.

Several API processes may serve one PostgreSQL database (``medwaste serve --workers N``, or
servers on several machines). The background jobs run in one of them at a time, the leader:
the process that holds a session-level advisory lock on a connection of its own, kept open
(outside any transaction) for as long as it leads. The others try again every
``retry_seconds``. When the leader's session ends (the process died, the database or an
operator terminated the session), PostgreSQL releases the lock and the next process to try
leads. The leader checks its connection every ``check_seconds`` and stops leading as soon as
it finds it gone (then waits a few retry periods, so that a healthy follower takes over
before it tries again); a round of work already under way finishes (every job is safe to run twice:
inserts are ON CONFLICT DO NOTHING, claims lock rows with SKIP LOCKED).

The lock is taken per schema, so that separate deployments in separate schemas of one
database each have their own leader. On SQLite (one process by design) the process leads.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.pool import NullPool

from service.db import is_sqlite

log = logging.getLogger(__name__)

# First key of the two-key advisory lock (the second is the schema's hash): "mwld".
LOCK_KEY = 0x6D776C64
TRY_LOCK = text("SELECT pg_try_advisory_lock(:key, hashtext(current_schema()))")
# Retry periods a process that lost the lock waits before trying for it again.
STEP_DOWN_RETRIES = 3
# A dead peer is noticed by TCP keepalives too, not only when the check's query fails.
KEEPALIVES = {
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "connect_timeout": 10,
}


class Leadership:
    """This process's claim to run the background jobs. ``leading`` is read by the job loops
    before each round."""

    def __init__(
        self, engine: Engine, *, retry_seconds: float = 5.0, check_seconds: float = 2.0
    ) -> None:
        self._engine = engine
        self._retry = retry_seconds
        self._check = check_seconds
        self._leading = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._own: Engine | None = None
        self._connection: Connection | None = None
        if is_sqlite(engine):
            self._leading.set()

    @property
    def leading(self) -> bool:
        return self._leading.is_set()

    def wait(self, timeout: float) -> bool:
        """Whether this process leads within ``timeout`` seconds."""
        return self._leading.wait(timeout)

    def start(self) -> None:
        if is_sqlite(self._engine) or self._thread is not None:
            return
        self._stop.clear()
        self._own = create_engine(
            self._engine.url,
            poolclass=NullPool,
            isolation_level="AUTOCOMMIT",
            connect_args=KEEPALIVES,
        )
        self._thread = threading.Thread(target=self._run, name="medwaste-leader", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop trying, and give up the lead (closing the connection releases the lock)."""
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join(timeout=30)
        self._thread = None
        self._step_down()
        if self._own is not None:
            self._own.dispose()
            self._own = None

    def _run(self) -> None:
        while not self._stop.is_set():
            if self.leading:
                if not self._connected():
                    log.warning("lost the background-jobs lock's connection: no longer leading")
                    self._step_down()
                    # Something was wrong here: leave the followers a few tries first.
                    self._stop.wait(self._retry * STEP_DOWN_RETRIES)
                    continue
                self._stop.wait(self._check)
            else:
                self._try_to_lead()
                self._stop.wait(self._check if self.leading else self._retry)

    def _try_to_lead(self) -> None:
        assert self._own is not None
        try:
            if self._connection is None:
                self._connection = self._own.connect()
            got = bool(self._connection.execute(TRY_LOCK, {"key": LOCK_KEY}).scalar())
        except Exception as exc:  # the database is away: try again later
            log.warning("could not try for the background-jobs lock: %s", exc)
            self._step_down()
            return
        if got:
            log.info("leading: this process runs the background jobs")
            self._leading.set()

    def _connected(self) -> bool:
        assert self._connection is not None
        try:
            self._connection.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    def _step_down(self) -> None:
        self._leading.clear()
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.close()
            except Exception:  # already broken: nothing to release
                log.debug("closing the lock's connection failed", exc_info=True)
