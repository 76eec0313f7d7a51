"""Who and what the API documentation's examples speak of: one trip of the demo region
(Inner Mongolia, CN-15) on 2 November 2026, from Hohhot First Hospital to the Hohhot disposal
centre. Each model's example (``schemas.common.example``) names these, so that the examples of
one operation and the next agree with each other and with what the server really sends. They
verify offline as real answers do (the label, the hash chain, the log's checkpoint and proofs):
after changing an example event, ``tools/example_log.py`` re-seals them."""

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
COLLECT_HASH = "6407a5a942dc07d2aaaa1a9f9e743d0766ce2e3fafef18cfee357a843e73195a"
PICKUP_HASH = "e3d0535a8d0a751a75797071afdfb2db687672c084a6e917bde3e8146124d5b7"
RECEIVE_HASH = "21fef839c0a3a95316b1d5872e7cdce5e80dff39c0d1905f75d28a65ece29367"
REGISTER_HASH = "9d9f5c2e6095d24af158cdcf921307e4691420baf9a53e3c5786dba3126baccb"
MANIFEST_SHA256 = "aeacc2d33575cdbe77d9cb742e5f5927189a0ced3b974c13503785ecf16cf41d"

# A list's cursor: opaque, base64url of what the next page starts after.
CURSOR = "eyJpZCI6ImxzdzR1ZWFtbnVoM2hwd24yZGhmZWZhazNtIn0"

# The transparency log (SPEC §6): its origin, verifier key and a checkpoint (a signed note, by a
# key made for these examples) of a tree of 1311 leaves, the last the example receipt's hash.
LOG_ORIGIN = "medwaste.example/api/v1/log"
LOG_KEY_ID = "7cb64f2a"
LOG_VKEY = f"{LOG_ORIGIN}+{LOG_KEY_ID}+AWb/OXxGILCmqlJ2GB3KNXF96l/WqJWjNVHYLgdbKhES"
LOG_TREE_SIZE = 1311
LOG_ROOT_HASH = "26b274fb527c30807dbd42627879d4d4e470337d23267f7aa298ec81cbd2a210"
CHECKPOINT_NOTE = (
    f"{LOG_ORIGIN}\n{LOG_TREE_SIZE}\nJrJ0+1J8MIB9vUJieHnU1ORwM30jJn96opjsgcvSohA=\n\n"
    f"— {LOG_ORIGIN} fLZPKogfETGj0pj0kHlxGL+Bcbm1TdI4JJH0/8gsBQlXH3xNiu05SJhLETGJ"
    "Tj5dhcWONsAXjQZM/uXh2EEKdgrMzAw=\n"
)

# RFC 9162 proofs in the tree of the checkpoint: each example event's inclusion (by its log
# index), and the consistency of the tree of 1247 leaves with it.
INCLUSION = {
    1101: [
        "48276e47d9d8736f9f50f766bccc835fec837f1c4e917e15cbfdf09c51375e0d",
        "a5b2eb67204aa98e464bf16ded160a863fdc5a5092ff2ab08538a73a656911f8",
        "e0c758d3162356a2930c2cef843a7117f007e745cbea8ce59f4962e757f4586d",
        "9589750dbaf24b52fd631b17789afbb5a463c54c07f342cb3377dcb4a343e79f",
        "e41cb6575f73b7736295749ac9f8d0aab451352ee4380d9900ce6ed9e442edc6",
        "d84cea97074188fbb786a6f12dccba97dd038ce924954b8e2d5f5ef4aaa10c00",
        "9f3a2f4d8090a81395a0bf0d11159905ea84a67eb910c14b1ef9048d06d9c7a4",
        "be56ab183d978e26ed76bd32f4e4d354cfc7b67d984ab3da400396fcb9a36bfd",
        "28397b45001e0fd681be8f63614fc037f243c90043c7ddcc5910478a70dde6cc",
        "3f40e7c8f39abaadba8af010285cdec98758c26b4445191123367813b128eb0c",
    ],
    1183: [
        "5e55b287a38079104d4da697b32f622a8b4f3ebbb21df4d402c4896f087e1139",
        "f0d576bebf0dab4febc9d611f9c2e48eb854f128544430838233d4b5ac4a6739",
        "705392dad23f6d220dcbd02b7773b3038ab55d6ba079bb98155d11996e541d9d",
        "cbd80c9a76cb12f0a205794782710c466638289290ddf1ec10131c1caa20ad09",
        "a9591bf23f8ea7826e0ffc98d61fc04cb4ddbd103382e541975e48f49175efd3",
        "cf31d3f9d9acbf3e7842933701f585bbd3ac0581a2cc53cbaa8c8d57c751615d",
        "8bce82741707863f29ffb8d3331cf4212fe6d335aea29e9f6afb7c8aa3cd4f11",
        "cd6f51af89fb001a9fdd564cf92f8520625a7f234faced39547f6e1d4344cc94",
        "28397b45001e0fd681be8f63614fc037f243c90043c7ddcc5910478a70dde6cc",
        "3f40e7c8f39abaadba8af010285cdec98758c26b4445191123367813b128eb0c",
    ],
    1246: [
        "ae3647b779f808a07a79a01d363790d6e3d345b3ffd4a5b049676edd1b699986",
        "46e583e2aefd3ce7d6f5e1412c1f47d8fc0b939bcd7c37490f08938b51393789",
        "5f257f9e446d1d3cf24e355a93b4b217c0bf37b0c5f73aa97c25f66cb9b1e07b",
        "e08301e7279ee96f1625afffbb310c3830338d6bdeb5eccebc867e2c87fbf3cc",
        "932fab756cb902a73f7d6604f940537a2b2761a0b4341648c0cbdc0a54dc4b5a",
        "04922cb4084b1e0ed64d113ddd9ecd5c0d78a93b8b2390f330e844f04a400bea",
        "78eb9628e12f3ce6f0aae69848c46826c00f8b7624bfd777ca69ed4ae57dff70",
        "cd6f51af89fb001a9fdd564cf92f8520625a7f234faced39547f6e1d4344cc94",
        "28397b45001e0fd681be8f63614fc037f243c90043c7ddcc5910478a70dde6cc",
        "3f40e7c8f39abaadba8af010285cdec98758c26b4445191123367813b128eb0c",
    ],
    1310: [
        "7a9a5af668df2489e2b22c0be3ea4cdcdd6b660ce031640e4e6b4f340a85ca82",
        "0b4f3a9fb4272ba14f418a70fe8315ac7c266ec95cfa2cea162f8ae1f3cb201d",
        "9ad1b26966bc19792192f7577fd548ec366a9b795c9b6287641f43937aca8d45",
        "de096b70212c83f7dc99ade5713d0f7f61c334b47322b23688e2992f49a92457",
        "e2b8252fef685ec7553683fa9c40355b702d8afd237dd33858449df7e0bec5e0",
        "3f40e7c8f39abaadba8af010285cdec98758c26b4445191123367813b128eb0c",
    ],
}
CONSISTENCY_FROM = 1247
CONSISTENCY = [
    "c9fc299bbe52d8da862e53cf208e3a604e112fab34d90979decf9b9e0b1757a2",
    "ae3647b779f808a07a79a01d363790d6e3d345b3ffd4a5b049676edd1b699986",
    "46e583e2aefd3ce7d6f5e1412c1f47d8fc0b939bcd7c37490f08938b51393789",
    "5f257f9e446d1d3cf24e355a93b4b217c0bf37b0c5f73aa97c25f66cb9b1e07b",
    "e08301e7279ee96f1625afffbb310c3830338d6bdeb5eccebc867e2c87fbf3cc",
    "932fab756cb902a73f7d6604f940537a2b2761a0b4341648c0cbdc0a54dc4b5a",
    "04922cb4084b1e0ed64d113ddd9ecd5c0d78a93b8b2390f330e844f04a400bea",
    "78eb9628e12f3ce6f0aae69848c46826c00f8b7624bfd777ca69ed4ae57dff70",
    "cd6f51af89fb001a9fdd564cf92f8520625a7f234faced39547f6e1d4344cc94",
    "28397b45001e0fd681be8f63614fc037f243c90043c7ddcc5910478a70dde6cc",
    "3f40e7c8f39abaadba8af010285cdec98758c26b4445191123367813b128eb0c",
]
