"""ES256K, Ed25519 and ML-DSA against an independent implementation: the
`cryptography` package (OpenSSL). Tokens jwtgate signs verify there, keys
either side generates load on the other, and the shared vectors
(tests/vectors/algorithms.json) hold tokens signed there."""

from __future__ import annotations

import base64
import json
from typing import Any, Callable

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, mldsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

import jwtgate

from _support import NOW, b64url_decode, key_text

ALGS = ["ES256K", "Ed25519", "ML-DSA-44", "ML-DSA-65", "ML-DSA-87"]
ML_DSA: dict[str, Any] = {
    "ML-DSA-44": (mldsa.MLDSA44PrivateKey, mldsa.MLDSA44PublicKey),
    "ML-DSA-65": (mldsa.MLDSA65PrivateKey, mldsa.MLDSA65PublicKey),
    "ML-DSA-87": (mldsa.MLDSA87PrivateKey, mldsa.MLDSA87PublicKey),
}
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def public_from_jwk(jwk: dict[str, Any]) -> Any:
    """The `cryptography` public key of a JWK jwtgate published."""
    if jwk["kty"] == "EC":
        assert jwk["crv"] == "secp256k1"
        x, y = (int.from_bytes(b64url_decode(jwk[m]), "big") for m in ("x", "y"))
        return ec.EllipticCurvePublicNumbers(x, y, ec.SECP256K1()).public_key()
    if jwk["kty"] == "OKP":
        return ed25519.Ed25519PublicKey.from_public_bytes(b64url_decode(jwk["x"]))
    assert jwk["kty"] == "AKP"
    return ML_DSA[jwk["alg"]][1].from_public_bytes(b64url_decode(jwk["pub"]))


def verify_there(alg: str, public: Any, token: str) -> None:
    """Checks a JWS signature with `cryptography`; raises InvalidSignature."""
    head, _, sig_b64 = token.rpartition(".")
    sig = b64url_decode(sig_b64)
    if alg == "ES256K":
        assert len(sig) == 64
        der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
        public.verify(der, head.encode(), ec.ECDSA(hashes.SHA256()))
    else:
        public.verify(sig, head.encode())


def policy(alg: str, jwk: dict[str, Any]) -> dict[str, Any]:
    return {"issuers": [{"algorithms": [alg], "keys": {"jwks": {"keys": [jwk]}}}], "cache": {"max_entries": 0}}


@pytest.mark.parametrize("alg", ALGS)
def test_jwtgate_keys_and_tokens_verify_in_cryptography(alg: str) -> None:
    made = jwtgate.generate_key(alg, kid="k")
    jwk = made["public_jwk"]
    public = public_from_jwk(jwk)
    signer = jwtgate.Signer.from_pem(alg, made["private_key"], kid="k")
    token = signer.sign({"sub": "ada"}, lifetime_s=60, now=NOW)
    verify_there(alg, public, token)
    tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    with pytest.raises(InvalidSignature):
        verify_there(alg, public, tampered)
    # The PKCS#8 private key jwtgate wrote loads in cryptography, same key.
    private = serialization.load_pem_private_key(made["private_key"].encode(), password=None)
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    assert private.public_key().public_bytes(*spki) == public.public_bytes(*spki)
    assert jwtgate.Verifier(policy(alg, jwk)).verify(token, now=NOW).claims["sub"] == "ada"


def private_jwk(alg: str) -> tuple[dict[str, Any], Callable[[bytes], bytes]]:
    """A private JWK from a key `cryptography` generated, and its raw JWS signer."""
    if alg == "ES256K":
        key = ec.generate_private_key(ec.SECP256K1())
        n = key.private_numbers()
        jwk = {"kty": "EC", "crv": "secp256k1", "x": b64(n.public_numbers.x.to_bytes(32, "big")),
               "y": b64(n.public_numbers.y.to_bytes(32, "big")), "d": b64(n.private_value.to_bytes(32, "big"))}
        return jwk, lambda m: key.sign(m, ec.ECDSA(hashes.SHA256()))
    if alg == "Ed25519":
        ed = ed25519.Ed25519PrivateKey.generate()
        jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64(ed.public_key().public_bytes_raw()),
               "d": b64(ed.private_bytes_raw())}
        return jwk, ed.sign
    ml = ML_DSA[alg][0].generate()
    jwk = {"kty": "AKP", "alg": alg, "pub": b64(ml.public_key().public_bytes_raw()),
           "priv": b64(ml.private_bytes_raw())}
    return jwk, ml.sign


@pytest.mark.parametrize("alg", ALGS)
def test_cryptography_private_jwks_sign_in_jwtgate(alg: str) -> None:
    jwk, _ = private_jwk(alg)
    signer = jwtgate.Signer.from_jwk(jwk, alg=alg)
    public_jwk = {k: v for k, v in jwk.items() if k not in ("d", "priv")}
    token = signer.sign({"sub": "ada"}, lifetime_s=60, now=NOW)
    verify_there(alg, public_from_jwk({**public_jwk, "alg": alg}), token)
    assert jwtgate.Verifier(policy(alg, public_jwk)).verify(token, now=NOW).claims["sub"] == "ada"


@pytest.mark.parametrize(("alg", "key_file"), [("ES256K", "secp256k1"), ("Ed25519", "ed25519"),
                                                ("ML-DSA-44", "mldsa44"), ("ML-DSA-65", "mldsa65"),
                                                ("ML-DSA-87", "mldsa87")])
def test_private_keys_cryptography_wrote_sign_in_jwtgate(alg: str, key_file: str) -> None:
    key: Any = serialization.load_pem_private_key(key_text(f"{key_file}.pem").encode(), password=None)
    pems = [key_text(f"{key_file}.pem")]
    if alg == "ES256K":
        # SEC1 (`EC PRIVATE KEY`), as `openssl ecparam -genkey` writes it.
        pems.append(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                      serialization.NoEncryption()).decode())
    for pem in pems:
        token = jwtgate.Signer.from_pem(alg, pem).sign({"sub": "ada"}, lifetime_s=60, now=NOW)
        verify_there(alg, key.public_key(), token)
        keys = {"pem": key_text(f"{key_file}.pub.pem")}
        verifier = jwtgate.Verifier({"issuers": [{"algorithms": [alg], "keys": keys}]})
        assert verifier.verify(token, now=NOW).claims["sub"] == "ada"


def test_es256k_high_s_is_a_policy_choice() -> None:
    key = serialization.load_pem_private_key(key_text("secp256k1.pem").encode(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    pem = key_text("secp256k1.pub.pem")
    head = f"{b64(json.dumps({'alg': 'ES256K'}).encode())}.{b64(json.dumps({'exp': NOW + 60}).encode())}"
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    r, s = decode_dss_signature(key.sign(head.encode(), ec.ECDSA(hashes.SHA256())))
    low, high = sorted([s, SECP256K1_N - s])
    tokens = {name: f"{head}.{b64(r.to_bytes(32, 'big') + v.to_bytes(32, 'big'))}" for name, v in
              (("low", low), ("high", high))}
    default = jwtgate.Verifier({"issuers": [{"algorithms": ["ES256K"], "keys": {"pem": pem}}]})
    strict = jwtgate.Verifier({"issuers": [{"algorithms": ["ES256K"], "es256k_low_s": True, "keys": {"pem": pem}}]})
    for token in tokens.values():
        default.verify(token, now=NOW)
    strict.verify(tokens["low"], now=NOW)
    with pytest.raises(jwtgate.InvalidSignatureError):
        strict.verify(tokens["high"], now=NOW)
