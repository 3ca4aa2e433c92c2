"""The shared vectors in tests/vectors, through the Python module: the same
decisions as core/tests/vectors.rs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import jwtgate

from jwtgate_testsupport.paths import VECTORS


def load_vectors() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    cases = []
    for path in sorted(Path(VECTORS).glob("*.json")):
        data = json.loads(path.read_text())
        for vector in data["vectors"]:
            cases.append((f"{path.stem}/{vector['name']}", data, vector))
    return cases


CASES = load_vectors()


def test_vectors_exist() -> None:
    assert len(CASES) > 50, "tests/vectors/*.json should hold the shared vectors"


@pytest.mark.parametrize(("name", "data", "vector"), CASES, ids=[c[0] for c in CASES])
def test_vector(name: str, data: dict[str, Any], vector: dict[str, Any]) -> None:
    policy = vector["policy"]
    if isinstance(policy, str):
        policy = data["policies"][policy]
    expect = vector["expect"]
    if expect.get("code") == "policy":
        with pytest.raises(jwtgate.PolicyError) as info:
            jwtgate.Verifier(policy)
        assert info.value.code == "policy"
        return
    verifier = jwtgate.Verifier(policy)
    now = vector.get("now")
    if expect.get("valid"):
        verified = verifier.verify(vector["token"], now=now)
        if "claims" in expect:
            assert verified.claims == expect["claims"]
        if "issuer" in expect:
            assert verified.issuer == expect["issuer"]
        if "headers" in expect:
            assert verified.headers == expect["headers"]
        # bytes tokens take the same path
        assert verifier.verify(vector["token"].encode(), now=now).claims_json == verified.claims_json
    else:
        with pytest.raises(jwtgate.JwtError) as info:
            verifier.verify(vector["token"], now=now)
        error = info.value
        assert error.code == expect["code"], f"{error.code}: {error.message}"
        assert type(error).code == expect["code"]
        if "claim" in expect:
            assert error.claim == expect["claim"]
        if "status" in expect:
            assert error.status == expect["status"]
