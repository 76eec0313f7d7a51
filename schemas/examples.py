"""Who and what the API documentation's examples speak of: one trip of the demo region
(Inner Mongolia, CN-15) on 2 November 2026, from Hohhot First Hospital to the Hohhot disposal
centre. Each model's example (``schemas.common.example``) names these, so that the examples of
one operation and the next agree with each other and with what the server really sends."""

from __future__ import annotations

HOSPITAL_ID = "3f2c8a4e-6b1d-4c0e-9a57-2d8e1f0b7c61"
HOSPITAL = "呼和浩特市第一医院 Hohhot First Hospital"
HOSPITAL_SITE_ID = "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9"
TRANSPORTER_ID = "c4d5e6f7-0a1b-4c2d-8e3f-4a5b6c7d8e9f"
TRANSPORTER = "内蒙古绿源医废运输有限公司 Green Source Medical Waste Transport Co."
PLANT_ID = "8a1e5b3c-2f4d-4e6a-b7c8-9d0e1f2a3b4c"
PLANT = "呼和浩特市医疗废物集中处置中心 Hohhot Medical Waste Disposal Centre"
PLANT_SITE_ID = "23688dcb-98cd-47a9-a853-bb451fcb7d5d"

STAFF_USER_ID = "825bf5f7-b459-40ec-b16d-b62b93891f47"
DRIVER_USER_ID = "6bc156a5-572d-4b35-a758-793257b91908"
OPERATOR_USER_ID = "e95b0b8c-7cbf-45f9-b9e8-99d3eae67ede"
REGULATOR_USER_ID = "140523f5-d132-46c1-a481-e5ed5bed9c82"

# A container id is 26 lowercase base32 characters; its short code, the first 8 as XXXX-XXXX.
CONTAINER_ID = "k7qf2m4dxw3zpa5rt6ybnjce2u"
SHORT_CODE = "K7QF-2M4D"
BATCH_ID = "cf890fc8-f678-43dc-84be-e54ce63916cd"
LABEL_KEY_ID = "gyfxr7ee"
# A label's QR payload (SPEC §5: MW1.id.key.signature, an unpadded base64url Ed25519 signature),
# signed with a key made for these examples: it verifies with LABEL_PUBLIC_KEY.
LABEL = (
    f"MW1.{CONTAINER_ID}.{LABEL_KEY_ID}."
    "8R7Ns90MgHTrxrIYT8qtaig42unDSG5WS53Tpi5FOkXZsYeXJQYy4nlaGZJkUjuW-ZBEtgz1ZDGyjx0drjgCBg"
)
LABEL_PUBLIC_KEY = "YhyMgFEEJ_v1_RXY-B1cNZKpbAYKzRTuA0eldoATIUc"

MANIFEST_ID = "0f1e2d3c-4b5a-4968-8776-655443322110"
# 危险废物转移管理办法 (2021) Art. 15: year, province (15), city (00: the province), serial.
MANIFEST_NUMBER = "20261500000042"
VEHICLE_PLATE = "蒙A·D1234"
DRIVER = "张伟 Zhang Wei"
STAFF = "王丽 Wang Li"
OPERATOR = "李强 Li Qiang"
ANOMALY_ID = "5d5ad0ee-5a54-4f5b-91c8-6e912e782461"

# The trip in UTC (08:00 in Hohhot): collected 08:15, picked up 10:02, received 11:10.
COLLECTED_AT = "2026-11-02T00:15:00Z"
PICKED_UP_AT = "2026-11-02T02:02:00Z"
RECEIVED_AT = "2026-11-02T03:10:00Z"
RECEIVED_AT_RECORDED = "2026-11-02T03:10:00.917204Z"
REGISTERED_AT = "2026-11-01T23:40:12Z"

# The SHA-256 hash chain of the container's events (SPEC §6): 64 hex digits each.
GENESIS_HASH = "0" * 64
COLLECT_HASH = "387610ab6f2f215b6fcfbdabd6e2d91674e930c1270b2c6063d140c2002a423b"
PICKUP_HASH = "58ca1f930f5e9e47c1b9045eea3a026f08b4003c371a6566488986d40211aa1c"
RECEIVE_HASH = "cbf74dd6062bc71183e636c02ff13d10756c37d0aa25fabfc86253367a50bcaa"
REGISTER_HASH = "518c82a313f195639b34e4e9e90d1a0fbf46b1b89c1cbf63e138957f4939d964"
MANIFEST_SHA256 = "aeacc2d33575cdbe77d9cb742e5f5927189a0ced3b974c13503785ecf16cf41d"

# A list's cursor: opaque, base64url of what the next page starts after.
CURSOR = "eyJpZCI6ImxzdzR1ZWFtbnVoM2hwd24yZGhmZWZhazNtIn0"

# The transparency log (SPEC §6): its origin, verifier key and a checkpoint (a signed note) of
# the tree holding the example receipt (log index 1310).
LOG_ORIGIN = "medwaste.example/api/v1/log"
LOG_KEY_ID = "c3a4ec1b"
LOG_VKEY = f"{LOG_ORIGIN}+{LOG_KEY_ID}+AXFlfa85f1xsE/Wjp87a5W/BAeT1IQaCD2xzgI8qjuRj"
LOG_TREE_SIZE = 1311
LOG_ROOT_HASH = "a87736365ddb6b58bf341358cf66a0bc8b81578c154c67d4960b12945ccdbc92"
CHECKPOINT_NOTE = (
    f"{LOG_ORIGIN}\n{LOG_TREE_SIZE}\nqHc2Nl3ba1i/NBNYz2agvIuBV4wVTGfUlgsSlFzNvJI=\n\n"
    f"— {LOG_ORIGIN} w6TsG6bnx/hITtk7zxnYteePQrr4cbf+mcUfZY50EdLe/WI5NlkEFSnEYGfBiyrGkqfAbDFMN8"
    "GPDw/dBmm2DhzKxgU=\n"
)
