"""Every table, imported in one place so the metadata is complete (alembic, tests)."""

from service.anomalies.models import Anomaly, AnomalyStep
from service.audit.models import AuditEntry
from service.auth.models import LoginFailure, RefreshToken, RevokedDevice, User
from service.custody.models import Container, CustodyEvent, ScanReceipt, ScanRejection
from service.epcis.models import EpcisCapture
from service.labels.models import LabelKey
from service.manifests.models import Manifest, ManifestSerial, ManifestSignature
from service.organizations.directory import DirectoryEpoch
from service.organizations.models import Organization, Site
from service.tlog.models import LogCheckpoint, LogHead, LogKey, LogLeaf, LogTile, LogTree
from service.tracks.models import TrackPoint

__all__ = [
    "Anomaly",
    "AnomalyStep",
    "AuditEntry",
    "Container",
    "CustodyEvent",
    "DirectoryEpoch",
    "EpcisCapture",
    "LabelKey",
    "LogCheckpoint",
    "LogHead",
    "LogKey",
    "LogLeaf",
    "LogTile",
    "LogTree",
    "LoginFailure",
    "Manifest",
    "ManifestSerial",
    "ManifestSignature",
    "Organization",
    "RefreshToken",
    "RevokedDevice",
    "ScanReceipt",
    "ScanRejection",
    "Site",
    "TrackPoint",
    "User",
]
