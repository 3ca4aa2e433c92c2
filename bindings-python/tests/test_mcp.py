"""MCP servers on jwtgate: ``jwtgate.mcp`` with the official MCP Python SDK.

examples/mcp_server.py runs as a real process on 127.0.0.1, once with a
Bearer policy (the SDK's bearer middleware asks ``JwtTokenVerifier``) and
once with DPoP required (jwtgate's middleware in front). The SDK's own
client calls its tools; the SDK's client-side discovery reads the RFC 9728
document jwtgate serves; a missing, bad, or under-scoped token gets the
SDK's 401 or 403 with ``resource_metadata``. The verifier itself: claims
to ``AccessToken``, bound tokens refused, keys that cannot be fetched
raised while the event loop keeps running.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

mcp = pytest.importorskip("mcp", reason="the MCP SDK needs Python 3.10 or later")

import httpx2  # noqa: E402  (the SDK's HTTP client)
from _support import key_text  # noqa: E402
from jwtgate_testsupport.ports import free_port  # noqa: E402
from mcp.client.auth.utils import (  # noqa: E402
    build_protected_resource_metadata_discovery_urls,
    extract_resource_metadata_from_www_auth,
    handle_protected_resource_response,
)
from mcp.client.client import Client  # noqa: E402
from mcp.client.streamable_http import streamable_http_client  # noqa: E402

import jwtgate  # noqa: E402
from jwtgate.mcp import JwtTokenVerifier, access_token, auth_settings  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "mcp_server.py"
ISSUER = "https://idp.example.com/"
RESOURCE = "https://mcp.example.com/mcp"
METADATA_PATH = "/.well-known/oauth-protected-resource/mcp"
INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}

IDP = jwtgate.Signer.from_pem("ES256", key_text("ecp256.pem"), kid="idp-1")
OTHER = jwtgate.Signer.from_pem("ES256", jwtgate.generate_key("ES256")["private_key"])
CLIENT_KEY = jwtgate.Signer.from_pem("RS256", key_text("rsa.pem"))


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def policy(**issuer: Any) -> dict[str, Any]:
    return {
        "issuers": [{"issuer": ISSUER, "algorithms": ["ES256"], "keys": {"pem": key_text("ecp256.pub.pem")},
                     "require": ["exp"], **issuer}],
        "resource": {"uri": RESOURCE, "scopes_supported": ["orders:read"]},
    }


def token(signer: jwtgate.Signer = IDP, **changes: Any) -> str:
    claims: dict[str, Any] = {"iss": ISSUER, "aud": RESOURCE, "sub": "ada", "client_id": "shop",
                              "scope": "orders:read profile"}
    claims.update(changes)
    return signer.sign({k: v for k, v in claims.items() if v is not None}, lifetime_s=None if "exp" in changes else 600)


# -- DPoP proofs (RFC 9449) made here with the client's RSA key --------------

def client_jwk() -> dict[str, Any]:
    jwk = CLIENT_KEY.public_jwk()
    assert jwk is not None
    return {"kty": "RSA", "n": jwk["n"], "e": jwk["e"]}


def jkt() -> str:
    """RFC 7638 thumbprint of the client's key."""
    jwk = client_jwk()
    canonical = json.dumps({"e": jwk["e"], "kty": "RSA", "n": jwk["n"]}, separators=(",", ":"))
    return b64(hashlib.sha256(canonical.encode()).digest())


def proof(method: str, access: str) -> str:
    header = {"typ": "dpop+jwt", "alg": "RS256", "jwk": client_jwk()}
    payload = {"htm": method, "htu": RESOURCE, "iat": int(time.time()), "jti": uuid.uuid4().hex,
               "ath": b64(hashlib.sha256(access.encode()).digest())}
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    return f"{signing_input}.{b64(CLIENT_KEY.sign_bytes(signing_input.encode()))}"


# -- the example server as a process -------------------------------------------

def start(tmp: Path, doc: dict[str, Any]) -> Iterator[str]:
    path = tmp / "policy.json"
    path.write_text(json.dumps(doc))
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(EXAMPLE), str(path), str(port)])
    base = f"http://127.0.0.1:{port}"
    try:
        end = time.monotonic() + 30
        while True:
            assert proc.poll() is None, "the example exited"
            assert time.monotonic() < end, "the example did not come up"
            try:
                if httpx2.get(base + METADATA_PATH, timeout=1.0).status_code == 200:
                    break
            except httpx2.HTTPError:
                time.sleep(0.1)
        yield base
    finally:
        proc.kill()  # stateless: nothing to shut down cleanly
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def bearer_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from start(tmp_path_factory.mktemp("bearer"), policy())


@pytest.fixture(scope="module")
def dpop_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from start(tmp_path_factory.mktemp("dpop"), policy(dpop="required"))


async def whoami(base: str, http: httpx2.AsyncClient) -> dict[str, Any]:
    """The SDK's client: connect over streamable HTTP and call the whoami tool."""
    async with Client(streamable_http_client(f"{base}/mcp", http_client=http)) as client:
        result = await client.call_tool("whoami", {})
    assert not result.is_error, result
    structured: dict[str, Any] = result.structured_content or {}
    return structured


def post(base: str, headers: dict[str, str]) -> httpx2.Response:
    return httpx2.post(f"{base}/mcp", json=INITIALIZE, headers={**MCP_HEADERS, **headers}, timeout=10.0)


# -- Bearer: the SDK's middleware asks jwtgate ---------------------------------

def test_the_sdk_client_calls_a_tool_with_a_valid_token(bearer_server: str) -> None:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token()}"}, timeout=10.0)
    seen = asyncio.run(whoami(bearer_server, http))
    assert seen == {"client_id": "shop", "subject": "ada", "scopes": ["orders:read", "profile"]}


def test_no_token_is_401_naming_the_metadata(bearer_server: str) -> None:
    r = post(bearer_server, {})
    assert r.status_code == 401, r.text
    challenge = r.headers["www-authenticate"]
    assert challenge.startswith('Bearer error="invalid_token"'), challenge
    metadata = extract_resource_metadata_from_www_auth(r)
    assert metadata == f"https://mcp.example.com{METADATA_PATH}", challenge


@pytest.mark.parametrize("bad", [
    "not.a.token",
    token(exp=int(time.time()) - 60),
    token(OTHER),  # signed by a key the policy does not hold
    token(aud="https://other.example.com/mcp"),  # issued for another resource (RFC 8707)
    token(cnf={"jkt": jkt()}),  # DPoP-bound: the SDK's hook cannot check the proof
    token(cnf={"x5t#S256": jkt()}),  # certificate-bound: nor the certificate
], ids=["malformed", "expired", "signature", "audience", "dpop-bound", "certificate-bound"])
def test_a_bad_token_is_401(bearer_server: str, bad: str) -> None:
    r = post(bearer_server, {"Authorization": f"Bearer {bad}"})
    assert r.status_code == 401, r.text
    assert r.json()["error"] == "invalid_token"
    assert 'resource_metadata="https://mcp.example.com/' in r.headers["www-authenticate"]


def test_a_token_without_the_scope_is_403(bearer_server: str) -> None:
    r = post(bearer_server, {"Authorization": f"Bearer {token(scope='profile')}"})
    assert r.status_code == 403, r.text
    assert r.json()["error"] == "insufficient_scope"
    assert r.headers["www-authenticate"].startswith('Bearer error="insufficient_scope"')


@pytest.mark.parametrize("joined", ["profile\u00a0orders:read", "profile\torders:read", "profile\norders:read"])
def test_scopes_split_on_spaces_only(bearer_server: str, joined: str) -> None:
    # A no-break space, tab or newline joins scope words, as in the core's
    # scope rules: "orders:read" is not among this token's scopes.
    r = post(bearer_server, {"Authorization": f"Bearer {token(scope=joined)}"})
    assert r.status_code == 403, r.text
    assert r.json()["error"] == "insufficient_scope"


def test_the_sdk_discovers_the_metadata_jwtgate_serves(bearer_server: str) -> None:
    challenge_url = extract_resource_metadata_from_www_auth(post(bearer_server, {}))
    assert challenge_url is not None and challenge_url.endswith(METADATA_PATH)

    async def discover() -> Any:
        # The server's own address (TLS ends in front of it in production).
        urls = build_protected_resource_metadata_discovery_urls(None, f"{bearer_server}/mcp")
        async with httpx2.AsyncClient(timeout=10.0) as http:
            for url in urls:
                found = await handle_protected_resource_response(await http.get(url))
                if found is not None:
                    return found
        return None

    found = asyncio.run(discover())
    assert found is not None
    assert str(found.resource).rstrip("/") == RESOURCE
    assert [str(s) for s in found.authorization_servers] == [ISSUER]
    assert found.scopes_supported == ["orders:read"]
    assert found.bearer_methods_supported == ["header"]
    raw = httpx2.get(bearer_server + METADATA_PATH, timeout=10.0)
    assert raw.json() == {"resource": RESOURCE, "authorization_servers": [ISSUER],
                          "scopes_supported": ["orders:read"], "bearer_methods_supported": ["header"],
                          "tls_client_certificate_bound_access_tokens": False}


# -- DPoP required: jwtgate's middleware in front --------------------------------

def test_dpop_the_sdk_client_with_a_proof_per_request(dpop_server: str) -> None:
    bound = token(cnf={"jkt": jkt()})

    async def add_proof(request: httpx2.Request) -> None:
        request.headers["Authorization"] = f"DPoP {bound}"
        request.headers["DPoP"] = proof(request.method, bound)

    http = httpx2.AsyncClient(event_hooks={"request": [add_proof]}, timeout=10.0)
    seen = asyncio.run(whoami(dpop_server, http))
    assert seen == {"client_id": "shop", "subject": "ada", "scopes": ["orders:read", "profile"]}


def test_dpop_refusals_name_both_schemes_and_the_metadata(dpop_server: str) -> None:
    bound = token(cnf={"jkt": jkt()})
    none = post(dpop_server, {})
    assert none.status_code == 401
    challenge = none.headers["www-authenticate"]
    assert challenge.startswith("Bearer") and "DPoP algs=" in challenge, challenge
    assert challenge.count(f'resource_metadata="https://mcp.example.com{METADATA_PATH}"') == 2, challenge
    as_bearer = post(dpop_server, {"Authorization": f"Bearer {bound}"})
    assert (as_bearer.status_code, as_bearer.json()["error"]) == (401, "dpop_binding")
    replayed = proof("POST", bound)
    first = post(dpop_server, {"Authorization": f"DPoP {bound}", "DPoP": replayed})
    assert first.status_code == 200, first.text
    again = post(dpop_server, {"Authorization": f"DPoP {bound}", "DPoP": replayed})
    assert (again.status_code, again.json()["error"]) == (401, "invalid_dpop_proof")
    narrow = token(cnf={"jkt": jkt()}, scope="profile")
    scoped = post(dpop_server, {"Authorization": f"DPoP {narrow}", "DPoP": proof("POST", narrow)})
    assert (scoped.status_code, scoped.json()["error"]) == (403, "claim")


# -- the verifier itself -----------------------------------------------------------

def test_claims_become_the_sdks_access_token() -> None:
    claims = {"sub": "ada", "azp": "shop", "scp": ["a", "b"], "exp": 1700000000,
              "aud": ["https://other.example.com", RESOURCE + "/"], "iss": ISSUER}
    got = access_token("t", claims, RESOURCE)
    assert (got.token, got.client_id, got.scopes, got.expires_at, got.resource, got.subject, got.claims) == (
        "t", "shop", ["a", "b"], 1700000000, RESOURCE + "/", "ada", claims)
    bare = access_token("t", {"sub": "ada", "scope": "x  y"})
    assert (bare.client_id, bare.scopes, bare.expires_at, bare.resource) == ("ada", ["x", "y"], None, None)


def test_the_verifier_answers_none_or_an_access_token() -> None:
    verifier = JwtTokenVerifier(policy(dpop="allowed"), route={"claims": {"client_id": {"equals": "shop"}}})

    async def run() -> list[Any]:
        return [await verifier.verify_token(t) for t in (
            token(), token(client_id="other"), token(cnf={"jkt": jkt()}), "x" * 20000)]

    ok, other_client, bound, huge = asyncio.run(run())
    assert ok is not None and ok.client_id == "shop" and ok.resource == RESOURCE
    assert (other_client, bound, huge) == (None, None, None)


def test_keys_out_of_reach_raise_and_the_loop_keeps_running() -> None:
    # A key endpoint that accepts the connection and never answers.
    hanging = socket.create_server(("127.0.0.1", 0))
    remote = {"issuers": [{"issuer": ISSUER, "algorithms": ["ES256"], "keys": {
        "jwks_uri": f"http://127.0.0.1:{hanging.getsockname()[1]}/jwks", "allow_http": True,
        "initial_wait_ms": 300, "timeout_ms": 2000}}]}
    verifier = JwtTokenVerifier(remote)

    async def run() -> int:
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticker = asyncio.create_task(tick())
        with pytest.raises(jwtgate.JwksUnavailableError):
            await verifier.verify_token(token())
        ticker.cancel()
        return ticks

    try:
        assert asyncio.run(run()) >= 10, "the event loop stalled while keys were fetched"
    finally:
        hanging.close()


def test_auth_settings_come_from_the_policy() -> None:
    settings = auth_settings(policy(), required_scopes=["orders:read"])
    assert (str(settings.issuer_url), str(settings.resource_server_url)) == (ISSUER, RESOURCE)
    assert settings.required_scopes == ["orders:read"] and settings.validate_token_resource is False
    with pytest.raises(ValueError, match="resource"):
        auth_settings({"issuers": policy()["issuers"]})
