"""Certificate-bound tokens (RFC 8705) in the Python integrations: the
client certificate a server hands over (the ASGI TLS extension's
``client_cert_chain``, WSGI's ``SSL_CLIENT_CERT``) reaches the core, which
checks the token's ``cnf["x5t#S256"]``; a client's own certificate header
counts for nothing, and nothing is read where no issuer binds tokens."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
import ssl
from typing import Any, Optional

import jwtgate
from jwtgate.asgi import JwtMiddleware
from jwtgate.wsgi import JwtMiddleware as WsgiMiddleware
from jwtgate_testsupport.paths import key_text

SECRET = b"s" * 32
ISS = "https://idp.example.com/"


ALICE, MALLORY = key_text("ecp256.cert.pem"), key_text("rsa.cert.pem")


def thumbprint(cert_pem: str) -> str:
    digest = hashlib.sha256(ssl.PEM_cert_to_DER_cert(cert_pem)).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def policy(mtls: Optional[str] = "required") -> dict[str, Any]:
    issuer: dict[str, Any] = {"issuer": ISS, "algorithms": ["HS256"],
                              "keys": {"hmac_secret": base64.urlsafe_b64encode(SECRET).rstrip(b"=").decode()}}
    if mtls:
        issuer["mtls_binding"] = mtls
    return {"issuers": [issuer]}


def token(bound_to: Optional[str]) -> str:
    claims: dict[str, Any] = {"iss": ISS, "sub": "ada"}
    if bound_to:
        claims["cnf"] = {"x5t#S256": thumbprint(bound_to)}
    return jwtgate.Signer.from_secret("HS256", SECRET).sign(claims, lifetime_s=600)


async def asgi_app(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


def asgi_call(app: Any, headers: list[tuple[str, str]], chain: Optional[list[str]]) -> tuple[int, Any]:
    scope: dict[str, Any] = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "https",
        "path": "/me", "raw_path": b"/me", "query_string": b"", "root_path": "",
        "headers": [(n.lower().encode(), v.encode()) for n, v in headers],
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 443), "extensions": {},
    }
    if chain is not None:
        scope["extensions"]["tls"] = {"server_cert": None, "client_cert_chain": chain, "client_cert_name": None,
                                      "client_cert_error": None, "tls_version": 0x0304, "cipher_suite": None}
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return sent[0]["status"], (json.loads(body) if body.startswith(b"{") else body)


def test_asgi_tls_extension_certificate() -> None:
    app = JwtMiddleware(asgi_app, policy=policy())
    auth = [("Authorization", f"Bearer {token(ALICE)}")]
    assert asgi_call(app, auth, [ALICE]) == (200, b"ok")
    for chain in ([MALLORY], [], None):
        status, body = asgi_call(app, auth, chain)
        assert (status, body["error"]) == (401, "mtls_binding"), chain
    # A client's own certificate header is no certificate.
    forged = auth + [("X-Client-Cert", ALICE.replace("\n", ""))]
    status, body = asgi_call(app, forged, [MALLORY])
    assert (status, body["error"]) == (401, "mtls_binding")


def test_wsgi_ssl_client_cert() -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    wrapped = WsgiMiddleware(app, policy())
    statuses: list[str] = []

    def call(cert: Optional[str]) -> tuple[str, bytes]:
        environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/me", "QUERY_STRING": "", "wsgi.input": io.BytesIO(),
                   "REMOTE_ADDR": "127.0.0.1", "HTTP_AUTHORIZATION": f"Bearer {token(ALICE)}"}
        if cert is not None:
            environ["SSL_CLIENT_CERT"] = cert
        body = b"".join(wrapped(environ, lambda s, h: statuses.append(s)))
        return statuses[-1], body

    assert call(ALICE) == ("200 OK", b"ok")
    for cert in (MALLORY, None, "not a certificate"):
        status, body = call(cert)
        assert status == "401 Unauthorized" and json.loads(body)["error"] == "mtls_binding", cert


def test_nothing_is_read_where_no_issuer_binds_tokens() -> None:
    assert jwtgate.Verifier(policy()).reads_client_cert
    assert not jwtgate.Verifier(policy(None)).reads_client_cert
    app = JwtMiddleware(asgi_app, policy=policy(None))
    # An unbound token passes with or without a certificate.
    for chain in ([ALICE], None):
        assert asgi_call(app, [("Authorization", f"Bearer {token(None)}")], chain) == (200, b"ok")
