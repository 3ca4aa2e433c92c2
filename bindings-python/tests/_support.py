"""The binding tests' own fixtures: issuer, audience, clock, policies and
claims. Paths, keys and ports are the shared test support's
(jwtgate_testsupport, put on the path by conftest.py)."""

from __future__ import annotations

import base64
from typing import Any

from jwtgate_testsupport.paths import key_text

ISS = "https://idp.test/"
AUD = "api://test"
NOW = 1_700_000_000


def b64url_decode(text: str) -> bytes:
    text = text.strip()
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def gateway_policy(**issuer: Any) -> dict[str, Any]:
    """An RS256 policy over tests/keys/rsa.pub.pem with an audience."""
    entry: dict[str, Any] = {
        "issuer": ISS,
        "audiences": [AUD],
        "algorithms": ["RS256"],
        "keys": {"pem": key_text("rsa.pub.pem")},
    }
    entry.update(issuer)
    return {"issuers": [entry]}


def claims(**extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"iss": ISS, "aud": AUD, "sub": "ada", "iat": NOW - 10, "exp": NOW + 600}
    base.update(extra)
    return base
