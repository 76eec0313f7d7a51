"""The API documentation's examples of the EPCIS answers: the example trip (``schemas.examples``)
as this service writes it in EPCIS 2.0 JSON-LD, with https://medwaste.example as its public
address."""

from __future__ import annotations

from typing import Any

from schemas import examples as ex
from schemas.common import example_of
from schemas.custody import ScanResult
from service.epcis.mapping import CONTEXT, identified

_BASE = "https://medwaste.example/id"
_CONTAINER = f"{_BASE}/container/{ex.CONTAINER_ID}"
_TRIP = [{"type": "bol", "bizTransaction": f"{_BASE}/manifest/{ex.MANIFEST_NUMBER}"}]
_HOSPITAL = f"{_BASE}/organization/{ex.HOSPITAL_ID}"
_TRANSPORTER = f"{_BASE}/organization/{ex.TRANSPORTER_ID}"
_PLANT = f"{_BASE}/organization/{ex.PLANT_ID}"


# Each with its GS1 event hash as eventID, as the service names its events.
COLLECT = identified(
    {
        "type": "ObjectEvent",
        "eventTime": "2026-11-02T08:15:00.000+08:00",
        "eventTimeZoneOffset": "+08:00",
        "epcList": [_CONTAINER],
        "action": "OBSERVE",
        "bizStep": "collecting",
        "disposition": "disposed",
        "readPoint": {"id": "geo:40.8426,111.749"},
        "bizLocation": {"id": f"{_BASE}/site/{ex.HOSPITAL_SITE_ID}"},
        "sensorElementList": [{"sensorReport": [{"type": "Mass", "value": 4.6, "uom": "KGM"}]}],
    }
)
RECEIVE = identified(
    {
        "type": "ObjectEvent",
        "eventTime": "2026-11-02T11:10:00.000+08:00",
        "eventTimeZoneOffset": "+08:00",
        "epcList": [_CONTAINER],
        "action": "OBSERVE",
        "bizStep": "receiving",
        "disposition": "disposed",
        "readPoint": {"id": "geo:40.747,111.553"},
        "bizLocation": {"id": f"{_BASE}/site/{ex.PLANT_SITE_ID}"},
        "sensorElementList": [{"sensorReport": [{"type": "Mass", "value": 3.9, "uom": "KGM"}]}],
        "bizTransactionList": _TRIP,
        "sourceList": [
            {"type": "owning_party", "source": _HOSPITAL},
            {"type": "possessing_party", "source": _TRANSPORTER},
        ],
        "destinationList": [
            {"type": "owning_party", "destination": _PLANT},
            {"type": "possessing_party", "destination": _PLANT},
        ],
    }
)
_HEAD = {
    "@context": CONTEXT,
    "schemaVersion": "2.0",
    "creationDate": "2026-11-02T05:00:12.408+00:00",
}

# A container's life (shortened to two of its events).
DOCUMENT: dict[str, Any] = {
    **_HEAD,
    "type": "EPCISDocument",
    "epcisBody": {"eventList": [COLLECT, RECEIVE]},
}
QUERY_DOCUMENT: dict[str, Any] = {
    **_HEAD,
    "type": "EPCISQueryDocument",
    "epcisBody": {
        "queryResults": {
            "queryName": "SimpleEventQuery",
            "resultsBody": {"eventList": [COLLECT, RECEIVE]},
        }
    },
}
# The receipt captured as a custody scan of the caller.
_SCAN = example_of(ScanResult)
CAPTURE_RESULT: dict[str, Any] = {
    "results": [
        {
            "eventID": RECEIVE["eventID"],
            "status": "created",
            "events": [_SCAN["event"]],
            "error": None,
            "anomalies": _SCAN["anomalies"],
        }
    ],
    "created": 1,
    "duplicates": 0,
    "rejected": 0,
}
