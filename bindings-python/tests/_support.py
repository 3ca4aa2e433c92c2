"""Shared helpers: the repository's test keys, clock and policies."""

from __future__ import annotations

import base64
import socket
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
KEYS = REPO / "tests" / "keys"
VECTORS = REPO / "tests" / "vectors"

ISS = "https://idp.test/"
AUD = "api://test"
NOW = 1_700_000_000


def key_text(name: str) -> str:
    return (KEYS / name).read_text()


def b64url_decode(text: str) -> bytes:
    text = text.strip()
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
