"""Every exception class and field, each code raised for real, and wrong
argument types."""

from __future__ import annotations

import base64
import json
import math
from typing import Any

import pytest
from _support import AUD, ISS, NOW, claims, gateway_policy
from jwtgate_testsupport.paths import key_text
from jwtgate_testsupport.ports import free_port

import jwtgate

CLASSES = {
    "malformed": jwtgate.MalformedTokenError,
    "too_large": jwtgate.TokenTooLargeError,
    "header": jwtgate.HeaderError,
    "algorithm": jwtgate.AlgorithmError,
    "key_not_found": jwtgate.KeyNotFoundError,
    "signature": jwtgate.InvalidSignatureError,
    "expired": jwtgate.ExpiredTokenError,
    "not_yet_valid": jwtgate.NotYetValidError,
    "issuer": jwtgate.IssuerError,
    "audience": jwtgate.AudienceError,
    "claim": jwtgate.ClaimError,
    "jwks_unavailable": jwtgate.JwksUnavailableError,
    "policy": jwtgate.PolicyError,
    "missing_token": jwtgate.MissingTokenError,
    "missing_claim": jwtgate.MissingClaimError,
    "invalid_request": jwtgate.InvalidRequestError,
    "invalid_dpop_proof": jwtgate.InvalidDpopProofError,
    "use_dpop_nonce": jwtgate.UseDpopNonceError,
    "dpop_binding": jwtgate.DpopBindingError,
    "mtls_binding": jwtgate.MtlsBindingError,
    "replay_store_unavailable": jwtgate.ReplayStoreUnavailableError,
    "key": jwtgate.InvalidKeyError,
    "invalid_argument": jwtgate.InvalidArgumentError,
    "serialization": jwtgate.SerializationError,
}
STATUS = {
    "claim": 403,
    "jwks_unavailable": 503,
    "replay_store_unavailable": 503,
    "policy": None,
    "key": None,
    "invalid_argument": None,
    "serialization": None,
    "invalid_request": 400,
}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def raw_token(signer: jwtgate.Signer, header: dict[str, Any], payload: dict[str, Any]) -> str:
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    return f"{signing_input}.{b64(signer.sign_bytes(signing_input.encode()))}"


def test_the_hierarchy_covers_every_core_code() -> None:
    assert set(jwtgate.ERROR_CODES) == set(CLASSES)
    assert len(jwtgate.ERROR_CODES) == len(set(jwtgate.ERROR_CODES))
    assert issubclass(jwtgate.JwtError, Exception)
    for code, cls in CLASSES.items():
        assert issubclass(cls, jwtgate.JwtError)
        assert cls.code == code
        assert cls.status == STATUS.get(code, 401)
        assert cls.__module__ == "jwtgate"
        assert getattr(jwtgate, cls.__name__) is cls


def reject(verifier: jwtgate.Verifier, token: str, now: float = NOW) -> jwtgate.JwtError:
    with pytest.raises(jwtgate.JwtError) as info:
        verifier.verify(token, now=now)
    return info.value


def check(error: jwtgate.JwtError, code: str, claim: str | None = None) -> None:
    assert type(error) is CLASSES[code]
    assert error.code == code
    assert error.status == STATUS.get(code, 401)
    assert error.claim == claim
    assert error.message and str(error) == error.message
    if code == "jwks_unavailable":
        # A server-side failure blames no token (RFC 6750 has no code for it).
        assert error.www_authenticate == "Bearer"
        return
    bearer = "insufficient_scope" if code == "claim" else "invalid_token"
    assert error.www_authenticate.startswith(f'Bearer error="{bearer}", error_description="')
    assert '"\r' not in error.www_authenticate and "\n" not in error.www_authenticate


def test_each_code_is_raised_with_its_fields(rsa_signer: jwtgate.Signer, hs_secret: bytes) -> None:
    policy = gateway_policy(claims={"dept": {"equals": "IT"}}, leeway_s=5)
    verifier = jwtgate.Verifier(policy)
    good = rsa_signer.sign(claims(dept="IT"))
    assert verifier.verify(good, now=NOW).claims["dept"] == "IT"

    check(reject(verifier, "not-a-token"), "malformed")
    check(reject(verifier, good + "x" * 20000), "too_large")
    crit = raw_token(rsa_signer, {"alg": "RS256", "crit": ["exp"], "exp": 1}, claims())
    check(reject(verifier, crit), "header")
    hs = jwtgate.Signer.from_secret("HS256", hs_secret)
    check(reject(verifier, hs.sign(claims())), "algorithm")
    head, payload, sig = good.split(".")
    flipped = sig[:10] + ("A" if sig[10] != "A" else "B") + sig[11:]
    check(reject(verifier, f"{head}.{payload}.{flipped}"), "signature")
    expired = reject(verifier, good, now=NOW + 600 + 5)
    check(expired, "expired", "exp")
    assert verifier.verify(good, now=NOW + 600 + 4.5).issuer == ISS  # inside the leeway
    check(reject(verifier, rsa_signer.sign(claims(nbf=NOW + 6))), "not_yet_valid")
    assert verifier.verify(rsa_signer.sign(claims(nbf=NOW + 5)), now=NOW).issuer == ISS
    check(reject(verifier, rsa_signer.sign(claims(iss="https://evil.test/"))), "issuer", "iss")
    check(reject(verifier, rsa_signer.sign(claims(aud="api://other"))), "audience", "aud")
    check(reject(verifier, rsa_signer.sign(claims(dept="HR"))), "claim", "dept")

    kid_signer = jwtgate.Signer.from_pem("RS256", key_text("rsa.pem"), kid="k1")
    by_kid = jwtgate.Verifier(
        {"issuers": [{"algorithms": ["RS256"], "keys": {"jwks": jwtgate.jwks([kid_signer])}}]}
    )
    assert by_kid.verify(kid_signer.sign({"sub": "ada"})).claims == {"sub": "ada"}
    other = jwtgate.Signer.from_pem("RS256", key_text("rsa.pem"), kid="k2")
    check(reject(by_kid, other.sign({"sub": "ada"})), "key_not_found")

    down = jwtgate.Verifier(
        {
            "issuers": [
                {
                    "algorithms": ["RS256"],
                    "keys": {
                        "jwks_uri": f"http://127.0.0.1:{free_port()}/jwks.json",
                        "allow_http": True,
                        "initial_wait_ms": 500,
                        "timeout_ms": 500,
                    },
                }
            ]
        }
    )
    check(reject(down, good), "jwks_unavailable")


def test_policy_errors_name_the_problem() -> None:
    with pytest.raises(jwtgate.PolicyError) as info:
        jwtgate.Verifier({"issuers": [{"algorithms": ["RS256"], "keys": {}, "leway_s": 5}]})
    check(info.value, "policy")
    assert "leway_s" in info.value.message
    with pytest.raises(jwtgate.PolicyError):
        jwtgate.Verifier('{"issuers": [')
    with pytest.raises(jwtgate.PolicyError):
        jwtgate.Verifier("/nonexistent/policy.json")
    with pytest.raises(jwtgate.InvalidKeyError) as key_info:
        jwtgate.Signer.from_pem("RS256", key_text("rsa1024.pem"))  # under 2048 bits
    check(key_info.value, "key")
    with pytest.raises(jwtgate.InvalidKeyError):
        jwtgate.Signer.from_secret("HS256", b"short")


def test_errors_can_be_caught_by_base_and_by_code(rsa_signer: jwtgate.Signer) -> None:
    verifier = jwtgate.Verifier(gateway_policy())
    token = rsa_signer.sign(claims())
    with pytest.raises(jwtgate.ExpiredTokenError):
        verifier.verify(token, now=NOW + 10_000)
    try:
        verifier.verify(token, now=NOW + 10_000)
    except jwtgate.JwtError as e:
        assert e.code == "expired" and e.status == 401 and e.claim == "exp"


@pytest.mark.parametrize(
    "call",
    [
        lambda v, t: jwtgate.Verifier(123),
        lambda v, t: jwtgate.Verifier(["issuers"]),
        lambda v, t: jwtgate.Verifier({"issuers": [{"algorithms": ["RS256"], "keys": {"pem": object()}}]}),
        lambda v, t: jwtgate.Verifier({1: 2}),
        lambda v, t: v.verify(123),
        lambda v, t: v.verify(None),
        lambda v, t: v.verify(["a.b.c"]),
        lambda v, t: v.verify(t, now="1700000000"),
        lambda v, t: v.verify(t, now=True),
        lambda v, t: v.verify_many("a.b.c"),
        lambda v, t: v.verify_many(5),
        lambda v, t: v.verify_many([t, 5]),
        lambda v, t: v.verify_async(5),
        lambda v, t: v.find_token(5),
        lambda v, t: v.find_token("authorization: x"),
        lambda v, t: v.find_token({"authorization": 5}),
        lambda v, t: v.find_token([("authorization",)]),
        lambda v, t: v.find_token({}, 5),
        lambda v, t: v.with_claims(["sub"]),
        lambda v, t: v.decide("GET", "/", 5),
        lambda v, t: v.decide("GET", "/", "authorization: x"),
        lambda v, t: v.decide("GET", "/", {"authorization": 5}),
        lambda v, t: v.decide("GET", "/", [("authorization",)]),
        lambda v, t: v.decide("GET", "/", [5]),
        lambda v, t: v.decide(None, "/", {}),
        lambda v, t: v.decide("GET", 5, {}),
        lambda v, t: v.decide("GET", "/", {}, now="1"),
        lambda v, t: v.decide("GET", "/", {}, route={"scopes": ["a"]}),
        lambda v, t: v.decide("GET", "/", {}, peer=5),
        lambda v, t: v.decide("GET", "/", {}, client_cert="pem text"),
        lambda v, t: v.decide_async("GET", "/", 5),
        lambda v, t: v.decide_after(None, "GET", "/", {}, v.route({})),
        lambda v, t: v.decide_after(v.decide("GET", "/", {}), "GET", "/", {}, None),
        lambda v, t: v.route([("scopes", "a")]),
        lambda v, t: v.route({}).merge({}),
        lambda v, t: jwtgate.Signer.from_pem(256, key_text("rsa.pem")),
        lambda v, t: jwtgate.Signer.from_pem("RS256", b"pem bytes"),
        lambda v, t: jwtgate.Signer.from_secret("HS256", 12345),
        lambda v, t: jwtgate.Signer.from_jwk(5),
        lambda v, t: jwtgate.Signer.from_pem("RS256", key_text("rsa.pem")).sign([("sub", "x")]),
        lambda v, t: jwtgate.Signer.from_pem("RS256", key_text("rsa.pem")).sign({"sub": object()}),
        lambda v, t: jwtgate.Signer.from_pem("RS256", key_text("rsa.pem")).sign({1: "x"}),
        lambda v, t: jwtgate.Signer.from_pem("RS256", key_text("rsa.pem")).sign({}, lifetime_s="60"),
        lambda v, t: jwtgate.Signer.from_pem("RS256", key_text("rsa.pem")).sign_bytes("text"),
        lambda v, t: jwtgate.generate_key(None),
        lambda v, t: jwtgate.jwks([1]),
        lambda v, t: jwtgate.jwks(5),
        lambda v, t: jwtgate.decode_unverified(5),
    ],
)
def test_wrong_argument_types_raise_type_error(call: Any, rsa_signer: jwtgate.Signer) -> None:
    verifier = jwtgate.Verifier(gateway_policy())
    with pytest.raises(TypeError):
        call(verifier, rsa_signer.sign(claims()))


@pytest.mark.parametrize("now", [math.nan, math.inf, -math.inf])
def test_a_clock_that_is_not_finite_is_refused(now: float, rsa_signer: jwtgate.Signer) -> None:
    # NaN compares false with everything: it would make an expired token pass.
    verifier = jwtgate.Verifier(gateway_policy())
    with pytest.raises(ValueError):
        verifier.verify(rsa_signer.sign(claims()), now=now)


def test_values_out_of_range_raise_value_error() -> None:
    signer = jwtgate.Signer.from_pem("RS256", key_text("rsa.pem"))
    with pytest.raises(ValueError):
        signer.sign({"n": 2**70})
    with pytest.raises(ValueError):
        signer.sign({"n": math.nan})
    with pytest.raises(ValueError):
        jwtgate.generate_key("none")
    deep: dict[str, Any] = {}
    for _ in range(100):
        deep = {"d": deep}
    with pytest.raises(ValueError):
        signer.sign(deep)
    with pytest.raises(OverflowError):
        signer.sign({}, lifetime_s=-1)


def test_aud_of_the_wrong_type(rsa_signer: jwtgate.Signer) -> None:
    verifier = jwtgate.Verifier(gateway_policy())
    with pytest.raises(jwtgate.AudienceError):
        verifier.verify(rsa_signer.sign(claims(aud=[AUD, 5])), now=NOW)
