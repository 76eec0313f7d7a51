"""Label keys, published for anyone to verify labels offline (SPEC §5)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from schemas import examples as ex
from schemas.common import example
from service.deps import SessionDep
from service.labels.keys import all_keys

router = APIRouter(prefix="/api/v1/labels", tags=["labels"])


class PublicKey(BaseModel):
    key_id: str
    alg: str = "Ed25519"
    public_key: str
    active: bool


class PublicKeys(BaseModel):
    model_config = example(
        {
            "keys": [
                {
                    "key_id": ex.LABEL_KEY_ID,
                    "alg": "Ed25519",
                    "public_key": ex.LABEL_PUBLIC_KEY,
                    "active": True,
                }
            ]
        }
    )

    keys: list[PublicKey]


@router.get("/keys", response_model=PublicKeys)
def label_keys(session: SessionDep) -> PublicKeys:
    """The public keys labels are signed with (Ed25519), current and retired: phones and anyone else
    verify labels offline with them. No token needed."""
    return PublicKeys(
        keys=[
            PublicKey(key_id=k.key_id, public_key=k.public_key, active=k.active)
            for k in all_keys(session)
        ]
    )
