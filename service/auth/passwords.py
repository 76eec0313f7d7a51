"""Password hashing (argon2id via pwdlib) and the password policy."""

from __future__ import annotations

from pwdlib import PasswordHash

_hasher = PasswordHash.recommended()
# Verified against when the user does not exist, so both failure paths cost the same.
_DUMMY_HASH = _hasher.hash("medwaste-timing-equaliser")

MIN_LENGTH = 10
MAX_LENGTH = 128


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    """Check a password; with ``password_hash=None`` spend the same time and return False."""
    if password_hash is None:
        _hasher.verify(password, _DUMMY_HASH)
        return False
    return _hasher.verify(password, password_hash)


def policy_problems(password: str, *, username: str) -> list[str]:
    """What is wrong with a new password (empty when it is acceptable)."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        problems.append(f"at most {MAX_LENGTH} characters")
    if len(set(password)) < 4:
        problems.append("at least 4 different characters")
    if username and username.lower() in password.lower():
        problems.append("must not contain the username")
    return problems
