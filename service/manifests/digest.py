"""The SHA-256 digest printed on a transfer manifest, so that a paper copy can be checked
against the manifest's record.

Its input is the manifest's canonical content, taken from the record as
``GET /api/v1/manifests/{id}`` answers it (JSON values as that response spells them):

    {"number", "vehicle_plate", "driver_name"?, "driver_licence_number"?,
     "transport_permit_number"?,
     "origin" | "transporter" | "destination": {"organization_id", "name", "license_number",
                                                "address"?, "phone"?},
     "containers": [{"container_id", "short_code", "category", "collection_weight_kg",
                     "pickup_weight_kg", "receipt_weight_kg"}, ...]   sorted by container_id,
     "signatures": [{"party", "printed_name", "signed_at"}, ...]       sorted by party}

canonicalised by RFC 8785 (JSON Canonicalization Scheme, as the custody events' hashes are) and
hashed as those UTF-8 bytes. The fields marked ``?`` are left out while empty, so a manifest
recorded before the record held them keeps the digest printed on it. A manifest's digest
changes when a signature or a receipt is added: a copy printed before that carries the digest
of the record as it then was, which :mod:`service.manifests.verification` checks.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import rfc8785

from schemas.manifests import ManifestContainer, PartyPublic, SignaturePublic

_PARTY_FIELDS = {"organization_id", "name", "license_number"}
# Printed when the record holds them, left out of the content while empty.
_OPTIONAL_PARTY_FIELDS = {"address", "phone"}
_CONTAINER_FIELDS = {
    "container_id",
    "short_code",
    "category",
    "collection_weight_kg",
    "pickup_weight_kg",
    "receipt_weight_kg",
}
_SIGNATURE_FIELDS = {"party", "printed_name", "signed_at"}


def manifest_digest(
    *,
    number: str,
    vehicle_plate: str,
    driver_name: str | None = None,
    driver_licence_number: str | None = None,
    transport_permit_number: str | None = None,
    origin: PartyPublic,
    transporter: PartyPublic,
    destination: PartyPublic,
    containers: Sequence[ManifestContainer],
    signatures: Sequence[SignaturePublic],
) -> str:
    """The SHA-256 of the manifest's canonical content, as 64 lowercase hex digits."""
    content: dict[str, Any] = {
        "number": number,
        "vehicle_plate": vehicle_plate,
        **_present(
            driver_name=driver_name,
            driver_licence_number=driver_licence_number,
            transport_permit_number=transport_permit_number,
        ),
        "origin": _party(origin),
        "transporter": _party(transporter),
        "destination": _party(destination),
        "containers": sorted(
            (c.model_dump(mode="json", include=_CONTAINER_FIELDS) for c in containers),
            key=lambda c: str(c["container_id"]),
        ),
        "signatures": sorted(
            (s.model_dump(mode="json", include=_SIGNATURE_FIELDS) for s in signatures),
            key=lambda s: str(s["party"]),
        ),
    }
    return hashlib.sha256(rfc8785.dumps(content)).hexdigest()


def _present(**fields: str | None) -> dict[str, str]:
    return {name: value for name, value in fields.items() if value is not None}


def _party(party: PartyPublic) -> dict[str, Any]:
    return {
        **party.model_dump(mode="json", include=_PARTY_FIELDS),
        **_present(**party.model_dump(include=_OPTIONAL_PARTY_FIELDS)),
    }
