"""Errors of the anomaly domain."""

from __future__ import annotations

from service.errors import Conflict, NotFound


class AnomalyNotFound(NotFound):
    code, title = "anomaly-not-found", "Anomaly not found"


class IllegalAnomalyStep(Conflict):
    code, title = "illegal-anomaly-step", "Illegal workflow step"
