"""The in-server checkpoint issuer.

One daemon thread per process wakes every ``Settings.log_checkpoint_seconds`` (0 disables it)
and, while ``leading()`` says this process runs the background jobs (:mod:`service.leader`),
integrates what committed into the tiles and signs a checkpoint if the tree grew, in a write
transaction of its own. Should two processes ever overlap, they take turns on the ``log_tree``
row lock and the second finds nothing new. On shutdown it runs once more, leading or not, so
the last events are covered.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy import Engine

from service.db import session_scope, utcnow
from service.tlog.keys import LogSigner
from service.tlog.service import issue_checkpoint

log = logging.getLogger(__name__)


class CheckpointWorker:
    def __init__(
        self,
        engine: Engine,
        signer: LogSigner,
        *,
        interval_seconds: float,
        leading: Callable[[], bool] = lambda: True,
    ) -> None:
        self.engine = engine
        self.leading = leading
        self.signer = signer
        self.interval = interval_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.interval <= 0 or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="medwaste-log", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join(timeout=10)
        self._thread = None
        self._round()

    def run_once(self) -> int:
        """Issue a checkpoint if the tree grew; returns the checkpoint's tree size."""
        with session_scope(self.engine, write=True) as session:
            return issue_checkpoint(session, signer=self.signer, now=utcnow()).tree_size

    def _round(self) -> None:
        try:
            self.run_once()
        except Exception:  # keep the worker alive; the next round retries
            log.exception("issuing a log checkpoint failed")

    def _run(self) -> None:
        while not self._stop.is_set():
            if self.leading():
                self._round()
            self._stop.wait(self.interval)
