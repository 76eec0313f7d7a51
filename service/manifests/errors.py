"""Errors of the manifest domain."""

from __future__ import annotations

from service.errors import Conflict, NotFound


class ManifestNotFound(NotFound):
    code, title = "manifest-not-found", "Manifest not found"


class AlreadySigned(Conflict):
    code, title = "already-signed", "Already signed"


class ManifestStateConflict(Conflict):
    code, title = "manifest-state", "Not possible in the manifest's state"
