#!/usr/bin/env python3
"""Writes tests/dpop/dpop.json: DPoP proofs and DPoP-bound access tokens
made with jwcrypto (an implementation independent of jwtgate), the
policies they are checked against and the decision each request must get.

    python3 -m venv tests/dpop/.venv
    tests/dpop/.venv/bin/pip install -r tests/dpop/requirements.txt
    tests/dpop/.venv/bin/python tests/dpop/gen_vectors.py

core/tests/dpop.rs replays the cases in order through
`Verifier::decide` with `Request.now` pinned: one verifier per policy, so
a proof used twice is a replay. Keys are new on every run.

Each case: `policy` (a name in `policies`), `request` (`method`, `url`,
`headers`, `now`) and `expect` (`allow`, `status`, `code`, the start of
`www_authenticate`, `dpop_nonce` when the answer must carry one, and
`message_contains`, a word of the refusal's message naming the check).
"""

import base64
import hashlib
import importlib.metadata
import hmac
import json
import secrets
import struct
from pathlib import Path

from jwcrypto import jwk, jwt

NOW = 1_700_000_000
ISS = "https://idp.example.com/"
RESOURCE = "https://api.example.com/orders"
ORIGIN = "https://api.example.com"
NONCE_SECRET = bytes(range(32))
NONCE_WINDOW = 300


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def ath(token: str) -> str:
    return b64(hashlib.sha256(token.encode()).digest())


def nonce(window: int) -> str:
    """The nonce of a window, as docs/policy.md specifies it."""
    mac = hmac.new(NONCE_SECRET, b"jwtgate-dpop-nonce" + struct.pack(">Q", window), hashlib.sha256)
    return b64(mac.digest()[:18])


idp = jwk.JWK.generate(kty="EC", crv="P-256", kid="idp-1")
client = jwk.JWK.generate(kty="EC", crv="P-256")
other = jwk.JWK.generate(kty="EC", crv="P-256")
client_ed = jwk.JWK.generate(kty="OKP", crv="Ed25519")
client_rsa = jwk.JWK.generate(kty="RSA", size=2048)


def access_token(jkt=None, **extra) -> str:
    claims = {"iss": ISS, "sub": "ada", "aud": RESOURCE, "exp": NOW + 3600, "iat": NOW - 10,
              "scope": "orders:read", "client_id": "client-1"}
    if jkt:
        claims["cnf"] = {"jkt": jkt}
    claims.update(extra)
    token = jwt.JWT(header={"alg": "ES256", "typ": "at+jwt", "kid": "idp-1"}, claims=claims)
    token.make_signed_token(idp)
    return token.serialize()


def proof(key, alg, htm, htu, token, iat=NOW, jti=None, with_nonce=None, typ="dpop+jwt",
          private=False, ath_value=None, header_key=None, drop=()):
    shown = header_key or key
    public = shown.export_private(as_dict=True) if private else shown.export_public(as_dict=True)
    public.pop("kid", None)
    claims = {"jti": jti or secrets.token_urlsafe(16), "htm": htm, "htu": htu, "iat": iat,
              "ath": ath_value or ath(token)}
    if with_nonce is not None:
        claims["nonce"] = with_nonce
    for name in drop:
        claims.pop(name)
    signed = jwt.JWT(header={"typ": typ, "alg": alg, "jwk": public}, claims=claims)
    signed.make_signed_token(key)
    return signed.serialize()


def unsigned_proof(htm, htu, token):
    """alg none, made by hand: jwcrypto refuses to."""
    header = {"typ": "dpop+jwt", "alg": "none", "jwk": client.export_public(as_dict=True)}
    claims = {"jti": secrets.token_urlsafe(16), "htm": htm, "htu": htu, "iat": NOW, "ath": ath(token)}
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}."


def issuer(dpop):
    return {"issuer": ISS, "algorithms": ["ES256"],
            "keys": {"jwks": {"keys": [idp.export_public(as_dict=True)]}},
            "typ": "at+jwt", "dpop": dpop}


resource = {"uri": RESOURCE, "scopes_supported": ["orders:read", "orders:write"]}
policies = {
    "allowed": {"issuers": [issuer({"mode": "allowed", "iat_window_s": 60})], "resource": resource},
    "required": {"issuers": [issuer("required")], "resource": resource},
    "es256_only": {"issuers": [issuer({"mode": "allowed", "algorithms": ["ES256"]})], "resource": resource},
    "nonce": {"issuers": [issuer({"mode": "required", "origin": ORIGIN,
                                  "nonce": {"secret": b64(NONCE_SECRET), "window_s": NONCE_WINDOW}})],
              "resource": resource},
}

bound = access_token(client.thumbprint())
bound_ed = access_token(client_ed.thumbprint())
bound_rsa = access_token(client_rsa.thumbprint())
bound_other = access_token(other.thumbprint())
unbound = access_token()
URL = f"{ORIGIN}/orders/1"

cases = []


def case(name, headers, expect, policy="allowed", method="GET", url="/orders/1", now=NOW):
    cases.append({"name": name, "policy": policy,
                  "request": {"method": method, "url": url, "headers": headers, "now": now},
                  "expect": expect})


def ok():
    return {"allow": True, "status": 200, "code": None}


def no(code, status=401, challenge=None):
    return {"allow": False, "status": status, "code": code, "www_authenticate": challenge}


def dpop(token, *proofs):
    return [["Authorization", f"DPoP {token}"]] + [["DPoP", p] for p in proofs]


first = proof(client, "ES256", "GET", URL, bound)
case("valid ES256 proof with a bound token", dpop(bound, first), ok())
case("the same proof again: jti replayed", dpop(bound, first),
     no("invalid_dpop_proof", challenge='DPoP error="invalid_dpop_proof"'))
case("htu compared after normalisation; query and fragment ignored",
     dpop(bound, proof(client, "ES256", "GET", "https://API.Example.com:443/orders/./1?x=2#f", bound)),
     ok(), url="/orders/1?page=2")
case("lower-case dpop scheme", [["Authorization", f"dpop {bound}"],
                                ["DPoP", proof(client, "ES256", "GET", URL, bound)]], ok())
case("EdDSA proof", dpop(bound_ed, proof(client_ed, "EdDSA", "GET", URL, bound_ed)), ok())
case("PS256 proof", dpop(bound_rsa, proof(client_rsa, "PS256", "GET", URL, bound_rsa)), ok())
case("POST with a matching htm", dpop(bound, proof(client, "ES256", "POST", URL, bound)), ok(), method="POST")
case("iat at the edge of the window", dpop(bound, proof(client, "ES256", "GET", URL, bound, iat=NOW - 60)), ok())
case("unbound token as Bearer where DPoP is allowed", [["Authorization", f"Bearer {unbound}"]], ok())

case("wrong htm", dpop(bound, proof(client, "ES256", "POST", URL, bound)), no("invalid_dpop_proof"))
case("wrong htu path", dpop(bound, proof(client, "ES256", "GET", f"{ORIGIN}/orders/2", bound)),
     no("invalid_dpop_proof"))
case("wrong htu host", dpop(bound, proof(client, "ES256", "GET", "https://evil.example.com/orders/1", bound)),
     no("invalid_dpop_proof"))
case("wrong htu scheme", dpop(bound, proof(client, "ES256", "GET", "http://api.example.com/orders/1", bound)),
     no("invalid_dpop_proof"))
case("wrong ath", dpop(bound, proof(client, "ES256", "GET", URL, bound, ath_value=ath(unbound))),
     no("invalid_dpop_proof"))
case("token bound to another key (jkt)", dpop(bound_other, proof(client, "ES256", "GET", URL, bound_other)),
     no("invalid_dpop_proof"))
case("old iat", dpop(bound, proof(client, "ES256", "GET", URL, bound, iat=NOW - 61)), no("invalid_dpop_proof"))
case("iat in the future", dpop(bound, proof(client, "ES256", "GET", URL, bound, iat=NOW + 61)),
     no("invalid_dpop_proof"))
case("private key in the proof jwk", dpop(bound, proof(client, "ES256", "GET", URL, bound, private=True)),
     no("invalid_dpop_proof"))
case("typ is not dpop+jwt", dpop(bound, proof(client, "ES256", "GET", URL, bound, typ="JWT")),
     no("invalid_dpop_proof"))
case("two DPoP headers", dpop(bound, proof(client, "ES256", "GET", URL, bound),
                              proof(client, "ES256", "GET", URL, bound)), no("invalid_dpop_proof"))
case("no DPoP header", dpop(bound), no("invalid_dpop_proof"))
tampered = proof(client, "ES256", "GET", URL, bound)
head, body, sig = tampered.split(".")
claims = json.loads(base64.urlsafe_b64decode(body + "=="))
claims["htm"] = "DELETE"
tampered = ".".join([head, b64(json.dumps(claims).encode()), sig])
case("payload changed after signing", dpop(bound, tampered), no("invalid_dpop_proof"), method="DELETE")
hmac_key = jwk.JWK.generate(kty="oct", size=256)
case("HS256 proof over a public jwk (alg confusion)",
     dpop(bound, proof(hmac_key, "HS256", "GET", URL, bound, header_key=client)), no("invalid_dpop_proof"))
case("alg none proof", dpop(bound, unsigned_proof("GET", URL, bound)), no("invalid_dpop_proof"))
case("proof without jti", dpop(bound, proof(client, "ES256", "GET", URL, bound, drop=("jti",))),
     no("invalid_dpop_proof"))
case("proof without ath", dpop(bound, proof(client, "ES256", "GET", URL, bound, drop=("ath",))),
     no("invalid_dpop_proof"))
case("proof signed by another key than its jwk",
     dpop(bound, proof(other, "ES256", "GET", URL, bound, header_key=client)), no("invalid_dpop_proof"))
case("proof alg not in the issuer's dpop.algorithms",
     dpop(bound_ed, proof(client_ed, "EdDSA", "GET", URL, bound_ed)), no("invalid_dpop_proof"), policy="es256_only")
case("bound token sent as Bearer", [["Authorization", f"Bearer {bound}"]],
     no("dpop_binding", challenge='Bearer error="invalid_token"'))
case("unbound token sent with the DPoP scheme", dpop(unbound, proof(client, "ES256", "GET", URL, unbound)),
     no("dpop_binding", challenge='DPoP error="invalid_token"'))
case("two Authorization headers", [["Authorization", f"DPoP {bound}"], ["Authorization", f"Bearer {unbound}"],
                                   ["DPoP", proof(client, "ES256", "GET", URL, bound)]],
     no("invalid_request", 400))

case("required: unbound Bearer token refused", [["Authorization", f"Bearer {unbound}"]],
     no("dpop_binding"), policy="required")
case("required: bound token with its proof", dpop(bound, proof(client, "ES256", "GET", URL, bound)), ok(),
     policy="required")

window = NOW // NONCE_WINDOW
missing = no("use_dpop_nonce", challenge='DPoP error="use_dpop_nonce"')
missing["dpop_nonce"] = nonce(window)
case("nonce: a proof without one gets use_dpop_nonce and a nonce", dpop(bound, proof(client, "ES256", "GET", URL, bound)),
     missing, policy="nonce")
case("nonce: the proof with the current nonce", dpop(bound, proof(client, "ES256", "GET", URL, bound,
                                                                    with_nonce=nonce(window))), ok(), policy="nonce")
case("nonce: the previous window's nonce is still accepted",
     dpop(bound, proof(client, "ES256", "GET", URL, bound, with_nonce=nonce(window - 1))), ok(), policy="nonce")
stale = no("use_dpop_nonce")
stale["dpop_nonce"] = nonce(window)
case("nonce: an older nonce is refused", dpop(bound, proof(client, "ES256", "GET", URL, bound,
                                                           with_nonce=nonce(window - 2))), stale, policy="nonce")
case("nonce: a made-up nonce is refused", dpop(bound, proof(client, "ES256", "GET", URL, bound,
                                                            with_nonce=b64(secrets.token_bytes(18)))),
     stale, policy="nonce")

# The word the refusal's message must hold, so that each case is refused
# for its own check and not an earlier one.
WHY = {
    "the same proof again: jti replayed": "replayed", "wrong htm": "htm", "wrong htu path": "htu",
    "wrong htu host": "htu", "wrong htu scheme": "htu", "wrong ath": "ath", "token bound to another key (jkt)": "cnf.jkt",
    "old iat": "iat", "iat in the future": "iat", "private key in the proof jwk": "private", "typ is not dpop+jwt": "typ",
    "two DPoP headers": "exactly one", "no DPoP header": "exactly one", "payload changed after signing": "signature",
    "HS256 proof over a public jwk (alg confusion)": "alg", "alg none proof": "alg", "proof without jti": "jti",
    "proof without ath": "ath", "proof signed by another key than its jwk": "signature",
    "proof alg not in the issuer's dpop.algorithms": "alg", "bound token sent as Bearer": "DPoP scheme",
    "unbound token sent with the DPoP scheme": "not DPoP-bound", "two Authorization headers": "Authorization",
    "required: unbound Bearer token refused": "requires", "nonce: a proof without one gets use_dpop_nonce and a nonce": "nonce",
    "nonce: an older nonce is refused": "nonce", "nonce: a made-up nonce is refused": "nonce",
}
for c in cases:
    if c["name"] in WHY:
        c["expect"]["message_contains"] = WHY.pop(c["name"])
assert not WHY, WHY

out = {
    "description": "DPoP (RFC 9449) proofs and bound tokens made with jwcrypto; written by gen_vectors.py",
    "generator": f"jwcrypto {importlib.metadata.version('jwcrypto')}",
    "now": NOW,
    "keys": {"client_jkt": client.thumbprint(), "client_public": client.export_public(as_dict=True)},
    "policies": policies,
    "cases": cases,
}
path = Path(__file__).with_name("dpop.json")
path.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
print(f"{len(cases)} cases -> {path}")
