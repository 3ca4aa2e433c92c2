"""Shared fixtures: signers over the repository's test keys."""

from __future__ import annotations

import pytest
from _support import b64url_decode, key_text

import jwtgate


@pytest.fixture(scope="session")
def rsa_signer() -> jwtgate.Signer:
    return jwtgate.Signer.from_pem("RS256", key_text("rsa.pem"))


@pytest.fixture(scope="session")
def hs_secret() -> bytes:
    return b64url_decode(key_text("hs256.secret"))
