"""GS1 keys an organization or a site may carry (checked when an administrator enters them)."""

from __future__ import annotations


def gs1_check_digit(digits: str) -> str:
    """The GS1 mod-10 check digit of ``digits`` (weights 3, 1, 3, ... from the right)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return str((10 - total % 10) % 10)


def check_gln(gln: str) -> str:
    """``gln`` if its check digit is right; raises ValueError otherwise."""
    if len(gln) != 13 or not gln.isdigit():
        raise ValueError("a GLN is 13 digits")
    if gs1_check_digit(gln[:-1]) != gln[-1]:
        raise ValueError(f"the GLN's check digit should be {gs1_check_digit(gln[:-1])}")
    return gln
