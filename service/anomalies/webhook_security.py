"""Where webhooks may point, and how they are signed.

**Addresses.** A subscription's URL may not name loopback, link-local (cloud metadata at
169.254.169.254 among them), private, shared, reserved, multicast or unspecified addresses,
unless ``MEDWASTE_WEBHOOK_ALLOW_PRIVATE_ADDRESSES`` says so (a receiver inside the hospital's
network). Checked when the subscription is made (the name is resolved) and again before every
send, so a name that later resolves inward is refused too.

**Signatures** follow the Standard Webhooks specification, so a receiver can verify with an
off-the-shelf library and reject replays: ``webhook-id`` (the delivery id, the same on every
retry), ``webhook-timestamp`` (Unix seconds of this attempt) and ``webhook-signature:
v1,<base64 HMAC-SHA256 over "{id}.{timestamp}.{body}">`` keyed with the secret
``whsec_<base64 key>``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import secrets
import socket
from urllib.parse import urlsplit

SECRET_PREFIX = "whsec_"


class ForbiddenAddress(ValueError):
    """The URL names (or resolves to) an address webhooks may not reach."""


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_`` secret (subscriptions made before keep their raw text)."""
    if secret.startswith(SECRET_PREFIX):
        try:
            return base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
        except (binascii.Error, ValueError):
            pass
    return secret.encode()


def valid_secret(secret: str) -> bool:
    if not secret.startswith(SECRET_PREFIX):
        return False
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        return False
    return 24 <= len(key) <= 64


def standard_signature(*, secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def _forbidden(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or (isinstance(address, ipaddress.IPv4Address) and address in _SHARED)
    )


_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT


def check_url(url: str, *, allow_private: bool, resolve: bool = True) -> None:
    """Raise :class:`ForbiddenAddress` if ``url`` names or resolves to a forbidden address.
    A name that does not resolve (now) passes: it is checked again before each send."""
    if allow_private:
        return
    host = urlsplit(url).hostname or ""
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        if _forbidden(literal):
            raise ForbiddenAddress(f"{host} is a loopback, link-local, private or reserved address")
        return
    if host.lower() in ("localhost", "localhost.localdomain") or host.lower().endswith(
        ".localhost"
    ):
        raise ForbiddenAddress(f"{host} is this machine")
    if not resolve:
        return
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if _forbidden(address):
            raise ForbiddenAddress(f"{host} resolves to {address}, a non-public address")
