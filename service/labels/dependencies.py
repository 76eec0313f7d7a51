"""The label keys a request needs: the public keys that verify labels, the key that signs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi import Depends, Request

from service.deps import SessionDep
from service.labels.keys import KeyRing, LabelSigner


async def get_public_keys(request: Request, session: SessionDep) -> Mapping[str, Ed25519PublicKey]:
    """Every label-verifying public key, served from the process's key ring (``async``: the
    view reads the database only when a label is verified, in the route's own thread)."""
    ring: KeyRing = request.app.state.key_ring
    return ring.view(session)


async def get_signer(request: Request) -> LabelSigner:
    """The active label-signing key, loaded when the application started (``async``: a read
    of the application's state needs no trip through the thread pool)."""
    signer: LabelSigner = request.app.state.signer
    return signer


PublicKeysDep = Annotated[Mapping[str, Ed25519PublicKey], Depends(get_public_keys)]
SignerDep = Annotated[LabelSigner, Depends(get_signer)]
