#!/usr/bin/env python3
"""Writes tests/vectors/algorithms.json: ES256K, Ed25519 and ML-DSA vectors.

Every token here is signed by the Python `cryptography` package (OpenSSL),
an implementation independent of aws-lc, which jwtgate verifies with; the
keys are the ones in tests/keys/ (secp256k1.pem, ed25519.pem, mldsa*.pem).

    python3 -m venv /tmp/v && /tmp/v/bin/pip install 'cryptography>=46'
    /tmp/v/bin/python tests/vectors/gen_algorithms.py

ECDSA and ML-DSA signatures are randomised, so a regenerated file differs in
its tokens only. With --keys it first writes missing keys to tests/keys/.
"""

import base64
import json
import sys
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, mldsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

ROOT = Path(__file__).resolve().parent.parent.parent
KEYS = ROOT / "tests" / "keys"
NOW = 1_700_000_000
CLAIMS = {"exp": NOW + 60, "sub": "k"}
# The order of the secp256k1 group.
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
ML_DSA = {"ML-DSA-44": mldsa.MLDSA44PrivateKey, "ML-DSA-65": mldsa.MLDSA65PrivateKey,
          "ML-DSA-87": mldsa.MLDSA87PrivateKey}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def text(data) -> str:
    return b64(json.dumps(data, separators=(",", ":"), sort_keys=True).encode())


def spki_pem(public) -> str:
    return public.public_bytes(serialization.Encoding.PEM,
                               serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def load(name: str):
    return serialization.load_pem_private_key((KEYS / name).read_bytes(), password=None)


def write_keys() -> None:
    """Creates the secp256k1 and ML-DSA test keys that do not exist yet."""
    fresh = {"secp256k1": lambda: ec.generate_private_key(ec.SECP256K1())}
    for alg, cls in ML_DSA.items():
        fresh[alg.replace("-", "").lower()] = cls.generate
    for stem, generate in fresh.items():
        if (KEYS / f"{stem}.pem").exists():
            continue
        key = generate()
        (KEYS / f"{stem}.pem").write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        (KEYS / f"{stem}.pub.pem").write_text(spki_pem(key.public_key()))


def policy(algorithms, keys, **issuer):
    return {"cache": {"max_entries": 0},
            "issuers": [{"algorithms": algorithms, "keys": keys, **issuer}]}


def token(header: dict, sign, claims=None) -> str:
    signing_input = f"{text({'typ': 'JWT', **header})}.{text(claims or CLAIMS)}"
    return f"{signing_input}.{b64(sign(signing_input.encode()))}"


def tamper(tok: str) -> str:
    head, _, sig = tok.rpartition(".")
    return f"{head}.{('B' if sig[0] == 'A' else 'A')}{sig[1:]}"


def valid(name, description, pol, tok):
    return {"name": name, "description": description, "policy": pol, "token": tok, "now": NOW,
            "expect": {"valid": True, "claims": CLAIMS}}


def invalid(name, description, pol, tok, code):
    return {"name": name, "description": description, "policy": pol, "token": tok, "now": NOW,
            "expect": {"valid": False, "code": code}}


def es256k_vectors():
    key = load("secp256k1.pem")
    numbers = key.public_key().public_numbers()
    jwk = {"kty": "EC", "crv": "secp256k1", "x": b64(numbers.x.to_bytes(32, "big")),
           "y": b64(numbers.y.to_bytes(32, "big"))}
    pem = spki_pem(key.public_key())

    def sign(high: bool):
        def raw(message: bytes) -> bytes:
            r, s = decode_dss_signature(key.sign(message, ec.ECDSA(hashes.SHA256())))
            # (r, s) and (r, n - s) are both valid; pick the half asked for.
            if (s > SECP256K1_N // 2) != high:
                s = SECP256K1_N - s
            return r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return raw

    low = token({"alg": "ES256K"}, sign(high=False))
    high = token({"alg": "ES256K"}, sign(high=True))
    der = token({"alg": "ES256K"}, lambda m: key.sign(m, ec.ECDSA(hashes.SHA256())))
    both = policy(["ES256K"], {"pem": pem})
    low_only = policy(["ES256K"], {"pem": pem}, es256k_low_s=True)
    with_kid = {**jwk, "kid": "k1", "alg": "ES256K", "use": "sig"}
    return [
        valid("ES256K-jwk-low-s", "secp256k1 JWK (RFC 8812), low-S signature",
              policy(["ES256K"], {"jwks": {"keys": [jwk]}}), low),
        valid("ES256K-jwk-kid", "JWK with kid and alg ES256K",
              policy(["ES256K"], {"jwks": {"keys": [with_kid]}}), token({"alg": "ES256K", "kid": "k1"}, sign(False))),
        valid("ES256K-pem-high-s", "RFC 8812 accepts high-S signatures, and so does jwtgate by default",
              both, high),
        valid("ES256K-pem-low-s", "low-S signature, SPKI PEM key", both, low),
        invalid("ES256K-low-s-required-high-s", "es256k_low_s (AT Protocol) refuses the high-S twin",
                low_only, high, "signature"),
        valid("ES256K-low-s-required-low-s", "es256k_low_s accepts low-S signatures", low_only, low),
        invalid("ES256K-tampered", "one changed character", both, tamper(low), "signature"),
        invalid("ES256K-der-signature", "JWS signatures are r||s, never DER", both, der, "signature"),
        invalid("ES256K-key-is-not-p256", "alg ES256 with only a secp256k1 key: no key for ES256",
                policy(["ES256", "ES256K"], {"pem": pem}), token({"alg": "ES256"}, sign(False)), "algorithm"),
        invalid("ES256K-not-allowed", "ES256K is not in the issuer's algorithms",
                policy(["ES256"], {"pem": (KEYS / "ecp256.pub.pem").read_text()}), low, "algorithm"),
        invalid("ES256K-low-s-without-es256k", "es256k_low_s on an issuer that does not allow ES256K",
                policy(["ES256"], {"pem": (KEYS / "ecp256.pub.pem").read_text()}, es256k_low_s=True),
                low, "policy"),
    ]


def ed25519_vectors():
    key = load("ed25519.pem")
    assert isinstance(key, ed25519.Ed25519PrivateKey)
    pem = spki_pem(key.public_key())
    x = b64(key.public_key().public_bytes_raw())
    fully = token({"alg": "Ed25519"}, key.sign)
    polymorphic = token({"alg": "EdDSA"}, key.sign)
    both = policy(["EdDSA", "Ed25519"], {"pem": pem})
    identity = b64(bytes([1]) + bytes(31))
    return [
        valid("Ed25519-pem", "alg Ed25519 (RFC 9864) with the same keys as EdDSA",
              policy(["Ed25519"], {"pem": pem}), fully),
        valid("Ed25519-jwk-alg", "OKP JWK whose alg is Ed25519",
              policy(["Ed25519"], {"jwks": {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": x, "alg": "Ed25519"}]}}),
              fully),
        valid("Ed25519-both-listed-fully-specified", "a policy may list both names during a migration",
              both, fully),
        valid("Ed25519-both-listed-eddsa", "a policy may list both names during a migration", both, polymorphic),
        invalid("Ed25519-policy-lists-eddsa-only", "listing EdDSA does not accept alg Ed25519",
                policy(["EdDSA"], {"pem": pem}), fully, "algorithm"),
        invalid("Ed25519-policy-lists-ed25519-only", "listing Ed25519 does not accept alg EdDSA",
                policy(["Ed25519"], {"pem": pem}), polymorphic, "algorithm"),
        invalid("Ed25519-jwk-alg-eddsa", "a JWK whose alg is EdDSA serves EdDSA tokens only (RFC 7517 4.4)",
                policy(["EdDSA", "Ed25519"],
                       {"jwks": {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": x, "alg": "EdDSA"}]}}),
                fully, "algorithm"),
        invalid("Ed25519-tampered", "one changed character", both, tamper(fully), "signature"),
        invalid("Ed25519-small-order-key", "the identity point verifies forged signatures: refused at load",
                policy(["Ed25519"], {"jwks": {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": identity}]}}),
                fully, "policy"),
    ]


def ml_dsa_vectors():
    out = []
    keys = {alg: load(f"{alg.replace('-', '').lower()}.pem") for alg in ML_DSA}
    for alg, key in keys.items():
        public = key.public_key()
        jwk = {"kty": "AKP", "alg": alg, "kid": alg.lower(), "pub": b64(public.public_bytes_raw())}
        tok = token({"alg": alg, "kid": alg.lower()}, key.sign)
        out += [
            valid(f"{alg}-jwk", f"AKP JWK (draft-ietf-cose-dilithium), {alg} (FIPS 204)",
                  policy([alg], {"jwks": {"keys": [jwk]}}), tok),
            valid(f"{alg}-pem", f"SPKI PEM key, {alg}", policy([alg], {"pem": spki_pem(public)}),
                  token({"alg": alg}, key.sign)),
            invalid(f"{alg}-tampered", "one changed character", policy([alg], {"jwks": {"keys": [jwk]}}),
                    tamper(tok), "signature"),
        ]
    k44, k65 = keys["ML-DSA-44"], keys["ML-DSA-65"]
    jwk44 = {"kty": "AKP", "alg": "ML-DSA-44", "pub": b64(k44.public_key().public_bytes_raw())}
    jwk65 = {"kty": "AKP", "alg": "ML-DSA-65", "pub": b64(k65.public_key().public_bytes_raw())}
    tok44 = token({"alg": "ML-DSA-44"}, k44.sign)
    out += [
        invalid("ML-DSA-context-string", "JOSE signs with an empty context; a signature with one fails",
                policy(["ML-DSA-44"], {"jwks": {"keys": [jwk44]}}),
                token({"alg": "ML-DSA-44"}, lambda m: k44.sign(m, b"jwt")), "signature"),
        invalid("ML-DSA-wrong-parameter-set", "an ML-DSA-44 token, only an ML-DSA-65 key",
                policy(["ML-DSA-44", "ML-DSA-65"], {"jwks": {"keys": [jwk65]}}), tok44, "algorithm"),
        invalid("ML-DSA-akp-without-alg", "an AKP key must name its algorithm",
                policy(["ML-DSA-44"], {"jwks": {"keys": [{"kty": "AKP", "pub": jwk44["pub"]}]}}), tok44, "policy"),
        invalid("ML-DSA-akp-short-pub", "pub must be as long as the parameter set's public key",
                policy(["ML-DSA-44"], {"jwks": {"keys": [{**jwk44, "pub": jwk44["pub"][:-4]}]}}), tok44, "policy"),
        invalid("ML-DSA-akp-private-seed", "a private seed (priv) in a verification key set is refused",
                policy(["ML-DSA-44"], {"jwks": {"keys": [{**jwk44, "priv": b64(bytes(32))}]}}), tok44, "policy"),
        invalid("ML-DSA-key-for-other-alg", "a key whose alg the issuer does not allow: no key fits",
                policy(["ML-DSA-44"], {"jwks": {"keys": [jwk65]}}), tok44, "policy"),
    ]
    return out


def main() -> None:
    if "--keys" in sys.argv:
        write_keys()
    doc = {
        "description": "ES256K (RFC 8812, low-S and high-S), Ed25519 (RFC 9864) beside EdDSA, and "
                       "ML-DSA-44/65/87 with AKP keys (draft-ietf-cose-dilithium). Every token is signed by "
                       "the Python cryptography package (OpenSSL), independent of aws-lc; written by "
                       "tests/vectors/gen_algorithms.py from the keys in tests/keys/.",
        "vectors": es256k_vectors() + ed25519_vectors() + ml_dsa_vectors(),
    }
    path = ROOT / "tests" / "vectors" / "algorithms.json"
    path.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    print(f"wrote {len(doc['vectors'])} vectors to {path}")


if __name__ == "__main__":
    main()
