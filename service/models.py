"""Every table, imported in one place so the metadata is complete (alembic, tests)."""

from service.anomalies.models import Anomaly, AnomalyStep
from service.audit.models import AuditEntry
from service.auth.models import LoginFailure, RefreshToken, RevokedDevice, User
from service.custody.models import Container, CustodyEvent, ScanReceipt, ScanRejection
from service.labels.models import LabelKey
from service.manifests.models import Manifest, ManifestSerial, ManifestSignature
from service.organizations.directory import DirectoryEpoch
from service.organizations.models import Organization, Site

__all__ = [
    "Anomaly",
    "AnomalyStep",
    "AuditEntry",
    "Container",
    "CustodyEvent",
    "DirectoryEpoch",
    "LabelKey",
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
    "User",
]
