"""Shared fixtures: signers over the repository's test keys. Also puts
the repository's shared test support (tests/support/python) on the path,
before any test module imports it, and on PYTHONPATH for the Python
processes the tests start."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

SUPPORT = str(Path(__file__).resolve().parents[2] / "tests" / "support" / "python")
sys.path.insert(0, SUPPORT)
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [SUPPORT, os.environ.get("PYTHONPATH")]))

from _support import b64url_decode  # noqa: E402
from jwtgate_testsupport.paths import key_text  # noqa: E402

import jwtgate  # noqa: E402


@pytest.fixture(scope="session")
def rsa_signer() -> jwtgate.Signer:
    return jwtgate.Signer.from_pem("RS256", key_text("rsa.pem"))


@pytest.fixture(scope="session")
def hs_secret() -> bytes:
    return b64url_decode(key_text("hs256.secret"))
