"""The module's API: policies in every form, results, signers, batches,
token sources, per-route rules, cache statistics."""

from __future__ import annotations

import json
import pathlib
from typing import Any

import pytest
from _support import AUD, ISS, NOW, b64url_decode, claims, gateway_policy
from jwtgate_testsupport.paths import key_text

import jwtgate

# Every algorithm of the core's table: a new row is tested here without an edit.
ALGORITHMS = list(jwtgate.ALGORITHMS)


def test_the_algorithm_list_is_the_core_table() -> None:
    rfc = ["HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]
    assert set(rfc + ["EdDSA"]) <= set(ALGORITHMS)
    assert len(set(ALGORITHMS)) == len(ALGORITHMS)


def test_policy_as_dict_json_bytes_and_path(tmp_path: pathlib.Path, rsa_signer: jwtgate.Signer) -> None:
    token = rsa_signer.sign(claims())
    policy = gateway_policy()
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "rsa.pub.pem").write_text(key_text("rsa.pub.pem"))
    on_disk = gateway_policy(keys={"pem_file": "keys/rsa.pub.pem"})  # relative to the policy file
    (tmp_path / "policy.json").write_text(json.dumps(on_disk))
    for form in [
        policy,
        json.dumps(policy),
        json.dumps(policy).encode(),
        "  " + json.dumps(policy),
        str(tmp_path / "policy.json"),
        tmp_path / "policy.json",
    ]:
        verified = jwtgate.Verifier(form).verify(token, now=NOW)
        assert verified.claims["sub"] == "ada"


def test_verified_fields(rsa_signer: jwtgate.Signer) -> None:
    policy = gateway_policy(
        forward={"claims_to_headers": {"sub": "X-User", "/org/name": "X-Org"}, "payload_header": "X-JWT-Payload"}
    )
    verifier = jwtgate.Verifier(policy)
    token = rsa_signer.sign(claims(org={"name": "Engines", "n": [1, 2.5, None, True]}))
    v = verifier.verify(token, now=NOW)
    assert v.claims == claims(org={"name": "Engines", "n": [1, 2.5, None, True]})
    assert v.claims is v.claims  # built once
    assert v.header == {"alg": "RS256", "typ": "JWT"}
    assert json.loads(v.claims_json) == v.claims and json.loads(v.header_json) == v.header
    assert v.issuer == ISS
    assert v.headers == {"X-User": "ada", "X-Org": "Engines", "X-JWT-Payload": token.split(".")[1]}
    assert v.claim("/org/name") == "Engines" and v.claim("sub") == "ada" and v.claim("missing") is None
    assert "ada" in repr(v)


def test_single_issuer_without_iss_has_no_issuer(hs_secret: bytes) -> None:
    signer = jwtgate.Signer.from_secret("HS256", hs_secret)
    verifier = jwtgate.Verifier(
        {"issuers": [{"algorithms": ["HS256"], "keys": {"hmac_secret": key_text("hs256.secret").strip()}}]}
    )
    v = verifier.verify(signer.sign({"sub": "x"}))
    assert v.issuer is None and v.headers == {}


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_every_algorithm_signs_and_verifies(alg: str) -> None:
    key = jwtgate.generate_key(alg, kid=f"kid-{alg}")
    assert key["algorithm"] == alg and key["kid"] == f"kid-{alg}"
    if alg.startswith("HS"):
        assert key["public_jwk"] is None
        signer = jwtgate.Signer.from_secret(alg, b64url_decode(key["private_key"]), kid=key["kid"])
        keys: dict[str, Any] = {"hmac_secret": key["private_key"]}
        assert signer.public_jwk() is None and jwtgate.jwks([signer]) == {"keys": []}
    else:
        signer = jwtgate.Signer.from_pem(alg, key["private_key"], kid=key["kid"])
        assert signer.public_jwk() == key["public_jwk"]
        keys = {"jwks": jwtgate.jwks([signer])}
    assert signer.algorithm == alg and signer.kid == f"kid-{alg}"
    verifier = jwtgate.Verifier({"issuers": [{"issuer": ISS, "algorithms": [alg], "keys": keys}]})
    token = signer.sign({"iss": ISS, "sub": "ada"}, lifetime_s=60, now=NOW + 0.7)
    v = verifier.verify(token, now=NOW + 30)
    assert v.claims == {"iss": ISS, "sub": "ada", "iat": NOW, "exp": NOW + 60}
    assert v.header["alg"] == alg and v.header["kid"] == f"kid-{alg}"
    with pytest.raises(jwtgate.ExpiredTokenError):
        verifier.verify(token, now=NOW + 60)
    # the other key of the same kind does not verify it
    other = jwtgate.generate_key(alg)
    keys2 = {"hmac_secret": other["private_key"]} if alg.startswith("HS") else {"jwks": {"keys": [dict(other["public_jwk"], kid=f"kid-{alg}")]}}
    with pytest.raises(jwtgate.InvalidSignatureError):
        jwtgate.Verifier({"issuers": [{"algorithms": [alg], "keys": keys2}]}).verify(token, now=NOW)


def test_signer_from_jwk() -> None:
    pem_signer = jwtgate.Signer.from_pem("ES256", key_text("ecp256.pem"))
    public = pem_signer.public_jwk()
    assert public is not None and public["kty"] == "EC" and public["crv"] == "P-256"
    secret = jwtgate.generate_key("HS256")["private_key"]
    jwk = {"kty": "oct", "k": secret, "alg": "HS256", "kid": "h1"}
    for given in (jwk, json.dumps(jwk)):
        signer = jwtgate.Signer.from_jwk(given)
        assert signer.algorithm == "HS256" and signer.kid == "h1"
        verifier = jwtgate.Verifier({"issuers": [{"algorithms": ["HS256"], "keys": {"hmac_secret": secret}}]})
        assert verifier.verify(signer.sign({"a": 1})).claims == {"a": 1}
    with pytest.raises(jwtgate.InvalidKeyError):
        jwtgate.Signer.from_jwk({"kty": "oct", "k": secret})  # no alg anywhere
    long_secret = jwtgate.generate_key("HS512")["private_key"]
    assert jwtgate.Signer.from_jwk({"kty": "oct", "k": long_secret}, alg="HS384").algorithm == "HS384"
    with pytest.raises(jwtgate.InvalidKeyError):  # 32 bytes are too short for HS384
        jwtgate.Signer.from_jwk({"kty": "oct", "k": secret}, alg="HS384")


def test_verify_many_keeps_order_and_returns_errors(rsa_signer: jwtgate.Signer) -> None:
    verifier = jwtgate.Verifier(gateway_policy())
    good = rsa_signer.sign(claims())
    expired = rsa_signer.sign(claims(exp=NOW - 1))
    results = verifier.verify_many(iter([good, "x", expired, good.encode()]), now=NOW)
    assert len(results) == 4
    assert isinstance(results[0], jwtgate.Verified) and results[0].claims["sub"] == "ada"
    assert isinstance(results[1], jwtgate.MalformedTokenError) and results[1].status == 401
    assert isinstance(results[2], jwtgate.ExpiredTokenError) and results[2].claim == "exp"
    assert isinstance(results[3], jwtgate.Verified)
    assert verifier.verify_many([]) == []


def test_cache_stats_and_clear(rsa_signer: jwtgate.Signer) -> None:
    verifier = jwtgate.Verifier(gateway_policy())
    stats = verifier.stats()
    assert stats["cached_tokens"] == 0 and stats["cache_hits"] == 0 and stats["key_sets"] == []
    assert set(stats["verifications"]) == {"valid", *jwtgate.ERROR_CODES}
    tokens = [rsa_signer.sign(claims(n=i)) for i in range(3)]
    for token in tokens + tokens:
        verifier.verify(token, now=NOW)
    stats = verifier.stats()
    assert stats["cached_tokens"] == 3 and stats["cache_misses"] == 3 and stats["cache_hits"] == 3
    # a cache hit still re-checks the clock (and drops the expired token)
    with pytest.raises(jwtgate.ExpiredTokenError):
        verifier.verify(tokens[0], now=NOW + 600)
    with pytest.raises(jwtgate.MalformedTokenError):
        verifier.verify("x", now=NOW)
    stats = verifier.stats()
    assert stats["cached_tokens"] == 2 and stats["cache_hits"] == 4
    assert stats["verifications"]["valid"] == 6
    assert stats["verifications"]["expired"] == 1 and stats["verifications"]["malformed"] == 1
    verifier.clear_cache()
    assert verifier.stats()["cached_tokens"] == 0
    off = jwtgate.Verifier(dict(gateway_policy(), cache={"max_entries": 0}))
    off.verify(tokens[0], now=NOW)
    assert off.stats(now=NOW)["cached_tokens"] == 0 and off.stats()["verifications"]["valid"] == 1
    with pytest.raises(TypeError):
        off.stats(now="now")


def test_find_token_follows_the_policy_sources() -> None:
    policy = dict(
        gateway_policy(),
        token_sources=[{"header": "Authorization", "scheme": "Bearer"}, {"cookie": "access_token"}, {"query": "access_token"}],
    )
    verifier = jwtgate.Verifier(policy)
    assert verifier.find_token({"Authorization": "Bearer abc"}) == "abc"
    assert verifier.find_token({"authorization": "bearer  abc "}) == "abc"
    assert verifier.find_token({"authorization": "Basic abc"}) is None
    assert verifier.find_token({"cookie": "a=1; access_token=ck"}) == "ck"
    assert verifier.find_token([(b"cookie", b"a=1"), (b"cookie", b"access_token=ck2")]) == "ck2"
    assert verifier.find_token({}, "x=1&access_token=a%2Eb") == "a.b"
    assert verifier.find_token({}, b"access_token=q") == "q"
    assert verifier.find_token({"authorization": "Bearer h", "cookie": "access_token=c"}, "access_token=q") == "h"
    assert verifier.find_token({"cookie": "access_token=c"}, "access_token=q") == "c"
    assert verifier.find_token([(b"authorization", b"Bearer raw")]) == "raw"
    assert verifier.find_token({}, None) is None and verifier.find_token({}) is None

    class Headers:  # a mapping-like object with items(), e.g. werkzeug's
        def items(self) -> list[tuple[str, str]]:
            return [("Authorization", "Bearer m")]

    assert verifier.find_token(Headers()) == "m"
    default = jwtgate.Verifier(gateway_policy())
    assert default.find_token({"cookie": "access_token=c"}, "access_token=q") is None


def test_with_claims_narrows_the_policy(rsa_signer: jwtgate.Signer) -> None:
    verifier = jwtgate.Verifier(gateway_policy(claims={"dept": {"equals": "IT"}}))
    admin = verifier.with_claims({"roles": {"contains_all": ["admin"], "required": True}})
    assert set(admin.policy["issuers"][0]["claims"]) == {"dept", "roles"}
    assert set(verifier.policy["issuers"][0]["claims"]) == {"dept"}
    ok = rsa_signer.sign(claims(dept="IT", roles=["admin", "dev"]))
    plain = rsa_signer.sign(claims(dept="IT", roles=["dev"]))
    assert admin.verify(ok, now=NOW).claims["roles"] == ["admin", "dev"]
    assert verifier.verify(plain, now=NOW).claims["sub"] == "ada"
    with pytest.raises(jwtgate.ClaimError) as info:
        admin.verify(plain, now=NOW)
    assert info.value.claim == "roles" and info.value.status == 403
    with pytest.raises(jwtgate.ClaimError):
        admin.verify(rsa_signer.sign(claims(dept="HR", roles=["admin"])), now=NOW)
    # a rule for a claim the policy already constrains: both must hold
    it_or_ops = verifier.with_claims({"dept": {"one_of": ["IT", "OPS"]}})
    assert it_or_ops.verify(ok, now=NOW).claims["dept"] == "IT"
    with pytest.raises(jwtgate.ClaimError) as info:
        verifier.with_claims({"dept": {"equals": "HR"}}).verify(ok, now=NOW)
    assert info.value.claim == "dept"
    with pytest.raises(jwtgate.ClaimError) as info:
        it_or_ops.verify(rsa_signer.sign(claims(dept="OPS")), now=NOW)
    assert info.value.claim == "dept"  # the policy's own rule still holds
    with pytest.raises(jwtgate.PolicyError):
        it_or_ops.with_claims({"dept": {"equals": "IT"}})  # a third rule has no name left in the document
    with pytest.raises(jwtgate.PolicyError):
        verifier.with_claims({"sub": {"regexx": "x"}})
    with pytest.raises(jwtgate.PolicyError):
        verifier.with_claims({"sub": {"regex": "("}})


def test_documents_and_jwk_text_are_strict_json() -> None:
    text = json.dumps(gateway_policy())
    twice = text[:-1] + ', "max_token_bytes": 100, "max_token_bytes": 200}'
    with pytest.raises(jwtgate.PolicyError, match="duplicate"):
        jwtgate.Verifier(twice)
    assert jwtgate.Verifier(text[:-1] + ', "max_token_bytes": 100}').policy["max_token_bytes"] == 100
    secret = jwtgate.generate_key("HS256")["private_key"]
    jwk = json.dumps({"kty": "oct", "k": secret, "alg": "HS256"})
    with pytest.raises(jwtgate.InvalidKeyError, match="duplicate"):
        jwtgate.Signer.from_jwk(jwk[:-1] + ', "alg": "HS384"}')


def test_with_claims_keeps_relative_key_files(tmp_path: pathlib.Path, rsa_signer: jwtgate.Signer) -> None:
    (tmp_path / "rsa.pub.pem").write_text(key_text("rsa.pub.pem"))
    (tmp_path / "policy.json").write_text(json.dumps(gateway_policy(keys={"pem_file": "rsa.pub.pem"})))
    verifier = jwtgate.Verifier(tmp_path / "policy.json").with_claims({"sub": {"equals": "ada"}})
    assert verifier.verify(rsa_signer.sign(claims()), now=NOW).claims["aud"] == AUD


def test_decode_unverified(rsa_signer: jwtgate.Signer) -> None:
    header, payload = jwtgate.decode_unverified(rsa_signer.sign({"sub": "x"}))
    assert header["alg"] == "RS256" and payload == {"sub": "x"}
    with pytest.raises(jwtgate.MalformedTokenError):
        jwtgate.decode_unverified("nope")


def test_version() -> None:
    assert jwtgate.__version__.count(".") == 2


def test_signer_typ_meets_the_policy_typ() -> None:
    key = jwtgate.generate_key("ES256")
    access = jwtgate.Signer.from_pem("ES256", key["private_key"], typ="at+jwt")
    plain = jwtgate.Signer.from_pem("ES256", key["private_key"])
    policy = {"issuers": [{"algorithms": ["ES256"], "keys": {"jwks": jwtgate.jwks([plain])}, "typ": "at+jwt"}]}
    verifier = jwtgate.Verifier(policy)
    verified = verifier.verify(access.sign({"sub": "ada"}))
    assert verified.header["typ"] == "at+jwt"
    with pytest.raises(jwtgate.HeaderError):  # an ID token (typ JWT) cannot pass as an access token
        verifier.verify(plain.sign({"sub": "ada"}))
    secret = jwtgate.generate_key("HS256")["private_key"]
    hs = jwtgate.Signer.from_secret("HS256", b64url_decode(secret), typ="at+jwt")
    assert jwtgate.decode_unverified(hs.sign({}))[0]["typ"] == "at+jwt"
    jwk = jwtgate.Signer.from_jwk({"kty": "oct", "k": secret, "alg": "HS256"}, typ="at+jwt")
    assert jwtgate.decode_unverified(jwk.sign({}))[0]["typ"] == "at+jwt"
