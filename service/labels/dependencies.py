"""The label keys a request needs: the public keys that verify labels, the key that signs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi import Depends, Request

from service.deps import SessionDep
from service.labels.keys import KeyRing, LabelSigner


def get_public_keys(request: Request, session: SessionDep) -> Mapping[str, Ed25519PublicKey]:
    """Every label-verifying public key, served from the process's key ring."""
    ring: KeyRing = request.app.state.key_ring
    return ring.view(session)


def get_signer(request: Request) -> LabelSigner:
    """The active label-signing key, loaded when the application started."""
    signer: LabelSigner = request.app.state.signer
    return signer


PublicKeysDep = Annotated[Mapping[str, Ed25519PublicKey], Depends(get_public_keys)]
SignerDep = Annotated[LabelSigner, Depends(get_signer)]
