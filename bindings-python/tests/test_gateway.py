"""Every case of the shared gateway vectors (tests/gateway/*.json, and the
sender-constrained ones of tests/dpop/gateway_dpop.json):

(a) through ``Verifier.decide`` (levels merged with ``Route.merge``) and
    through ``decide`` + ``decide_after`` (one call per level);
(b) through a real uvicorn server, ASGI ``JwtMiddleware`` nested once per level;
(c) through the same server, FastAPI: the middleware with the first level,
    one ``Depends(auth.require(**level))`` per further level; and FastAPI
    with every level as a dependency (no middleware);
(d) through a real WSGI server (werkzeug), the levels merged with
    ``Route.merge`` into one ``JwtMiddleware`` (WSGI has no nesting here);

and the DPoP proof vectors of tests/dpop/dpop.json, in order (a proof
sent twice is a replay), through each of these servers with the clock
pinned at the vectors' ``now``.

Each compares the status, the code, ``WWW-Authenticate``, the headers the
echo endpoint received (``expect.upstream_headers``) and its URL
(``expect.upstream_url``).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from _servers import uvicorn, werkzeug

import jwtgate

TESTS = Path(__file__).parent
sys.path.insert(0, str(TESTS))
from apps.gateway_app import CASE_HEADER, PROOFS, proof_vectors, vector_files  # noqa: E402

CASES = [(name, i, case) for name, doc in vector_files() for i, case in enumerate(doc["cases"])]
POLICIES = {name: doc["policy"] for name, doc in vector_files()}

def case_id(item: tuple[str, int, dict[str, Any]]) -> str:
    return f"{item[0]}:{item[1]}:{item[2]['name']}"


def params() -> list[Any]:
    return [pytest.param(c, id=case_id(c)) for c in CASES]


def test_there_are_vectors() -> None:
    assert len(CASES) >= 30


def headers_after(request_headers: list[tuple[str, str]], decision: jwtgate.Decision) -> list[tuple[str, str]]:
    out = [(n, v) for n, v in request_headers if not decision.removes_header(n)]
    out.extend(decision.set_headers)
    return out


def check_upstream(case: dict[str, Any], headers: list[tuple[str, str]], url: str) -> None:
    name = case["name"]
    for header, want in case["expect"]["upstream_headers"].items():
        seen = [v for n, v in headers if n.lower() == header]
        assert seen == ([] if want is None else [want]), (name, header, seen)
    assert url == case["expect"]["upstream_url"], name


def check_decision(case: dict[str, Any], decision: jwtgate.Decision) -> None:
    expect = case["expect"]
    got = (decision.allow, decision.status, decision.code, decision.www_authenticate)
    assert got == (expect["allow"], expect["status"], expect["code"], expect["www_authenticate"]), case["name"]
    if not decision.allow and "body" in expect:
        # The metadata document, answered by the gateway: not a rejection.
        assert decision.body is not None and json.loads(decision.body) == expect["body"]
        return
    if not decision.allow:
        assert decision.body is not None and json.loads(decision.body)["error"] == expect["code"]
        assert ("WWW-Authenticate", expect["www_authenticate"]) in decision.response_headers
        assert decision.set_headers == [] and decision.claims is None


@pytest.mark.parametrize("item", params())
def test_decide(item: tuple[str, int, dict[str, Any]]) -> None:
    name, _, case = item
    verifier = jwtgate.Verifier(POLICIES[name])
    route = verifier.route({})
    for level in case["routes"]:
        route = route.merge(verifier.route(level))
    request = case["request"]
    pairs = [(n, v) for n, v in request["headers"]]
    decision = verifier.decide(request["method"], request["url"], pairs, route=route)
    check_decision(case, decision)
    # the same request as ASGI gives it: bytes everywhere
    raw = [(n.lower().encode(), v.encode()) for n, v in pairs]
    again = verifier.decide(request["method"].encode(), request["url"].encode(), raw, route=route)
    assert again.to_dict() == decision.to_dict()
    if decision.allow:
        check_upstream(case, headers_after(pairs, decision), decision.upstream_url or request["url"])


@pytest.mark.parametrize("item", params())
def test_decide_after_per_level(item: tuple[str, int, dict[str, Any]]) -> None:
    name, _, case = item
    policy = dict(POLICIES[name], cache={"max_entries": 0})
    verifier = jwtgate.Verifier(policy)
    request = case["request"]
    method, url, original = request["method"], request["url"], [(n, v) for n, v in request["headers"]]
    levels = [verifier.route(level) for level in case["routes"]] or [verifier.route({})]
    headers, target = list(original), url
    decision = verifier.decide(method, url, original, route=levels[0])
    before = sum(verifier.stats()["verifications"].values())
    for level in levels[1:]:
        if not decision.allow:
            break
        headers = headers_after(headers, decision)
        target = decision.upstream_url or target
        decision = verifier.decide_after(decision, method, url, original, level)
    assert sum(verifier.stats()["verifications"].values()) == before, "a later level verified again"
    check_decision(case, decision)
    if decision.allow:
        check_upstream(case, headers_after(headers, decision), decision.upstream_url or target)


@pytest.fixture(scope="module")
def asgi_server() -> Iterator[str]:
    with uvicorn("apps.gateway_app:app", os.environ, deadline_s=30.0) as base:
        yield base


@pytest.fixture(scope="module")
def wsgi_server() -> Iterator[str]:
    from apps.gateway_app import wsgi_app

    with werkzeug(wsgi_app()) as base:
        yield base


def over_http(base: str, flavor: str, item: tuple[str, int, dict[str, Any]]) -> None:
    name, i, case = item
    request, expect = case["request"], case["expect"]
    headers = [(n, v) for n, v in request["headers"]] + [(CASE_HEADER, f"{flavor}:{name}:{i}")]
    with httpx.Client(base_url=base, timeout=10.0) as http:
        # The target as written: httpx would normalise `/a/../b` in the URL.
        r = http.request(request["method"], request["url"], headers=headers,
                         extensions={"target": request["url"].encode()})
    assert r.status_code == expect["status"], (case["name"], r.text)
    assert r.headers.get("www-authenticate") == expect["www_authenticate"], case["name"]
    if not expect["allow"] and "body" in expect:
        assert r.json() == expect["body"], case["name"]  # the metadata document
        return
    if not expect["allow"]:
        body = r.json()  # the core's body as it is, from a middleware and a dependency alike
        assert body["error"] == expect["code"] and "detail" not in body, (case["name"], body)
        assert r.headers["cache-control"] == "no-store"
        return
    echo = r.json()
    check_upstream(case, [(n, v) for n, v in echo["headers"]], echo["url"])
    if expect["code"] is None and expect["upstream_headers"].get("x-user"):
        assert echo["auth"]["sub"] == expect["upstream_headers"]["x-user"]


@pytest.mark.parametrize("flavor", ["asgi", "fastapi", "deps"])
@pytest.mark.parametrize("item", params())
def test_asgi_and_fastapi_over_http(asgi_server: str, flavor: str, item: tuple[str, int, dict[str, Any]]) -> None:
    over_http(asgi_server, flavor, item)


@pytest.mark.parametrize("item", params())
def test_wsgi_over_http(wsgi_server: str, item: tuple[str, int, dict[str, Any]]) -> None:
    # WSGI servers join repeated headers with a comma (PEP 3333 follows
    # CGI); the core reads the comma as a second header: 400 all the same.
    over_http(wsgi_server, "wsgi", item)


# -- DPoP proofs at their instant (tests/dpop/dpop.json) ----------------------

def check_proof(case: dict[str, Any], r: httpx.Response) -> None:
    """Status, code, the challenge (its start, or one on a rejection), the
    nonce, and the body: the echo for an allowed request, the core's error
    (with the reason the vector names) for a rejected one."""
    name, expect = case["name"], case["expect"]
    assert r.status_code == expect["status"], (name, r.text)
    challenge = r.headers.get("www-authenticate")
    if expect.get("www_authenticate"):
        assert challenge is not None and challenge.startswith(expect["www_authenticate"]), (name, challenge)
    else:
        assert (challenge is None) == expect["allow"], (name, challenge)
    if expect.get("dpop_nonce"):
        assert r.headers.get("dpop-nonce") == expect["dpop_nonce"], name
    body = r.json()
    if expect["allow"]:
        assert isinstance(body["url"], str), (name, body)
        return
    assert body["error"] == expect["code"], (name, body)
    assert expect.get("message_contains", "") in body["message"], (name, body)


@pytest.mark.parametrize("flavor", ["asgi", "fastapi", "deps", "wsgi"])
def test_dpop_proof_vectors_over_http(asgi_server: str, wsgi_server: str, flavor: str) -> None:
    doc = proof_vectors()
    assert len(doc["cases"]) > 30
    base = wsgi_server if flavor == "wsgi" else asgi_server
    with httpx.Client(base_url=base, timeout=10.0) as http:
        def send(policy: str, request: dict[str, Any]) -> httpx.Response:
            headers = [(n, v) for n, v in request["headers"]] + [(CASE_HEADER, f"{flavor}:{PROOFS}:{policy}")]
            return http.request(request["method"], request["url"], headers=headers,
                                extensions={"target": request["url"].encode()})

        for case in doc["cases"]:
            assert case["request"]["now"] == doc["now"]
            check_proof(case, send(case["policy"], case["request"]))
        # Fail closed: a replay store that cannot answer is a 503.
        r = send("redis_down", doc["cases"][0]["request"])
        assert (r.status_code, r.json()["error"], r.headers.get("retry-after")) == (503, "replay_store_unavailable", "1")


def test_a_now_function_is_read_per_request() -> None:
    import asyncio

    from apps.gateway_app import asgi_echo
    from jwtgate.asgi import JwtMiddleware

    doc = proof_vectors()
    case = doc["cases"][0]
    calls: list[float] = []

    def clock() -> float:
        calls.append(doc["now"])
        return float(doc["now"])

    app = JwtMiddleware(asgi_echo, doc["policies"][case["policy"]], now=clock)

    async def send() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
            return await http.request(case["request"]["method"], case["request"]["url"],
                                      headers=[(n, v) for n, v in case["request"]["headers"]])

    check_proof(case, asyncio.run(send()))
    assert len(calls) == 1


def test_the_now_option_is_checked_at_setup() -> None:
    from jwtgate.asgi import JwtMiddleware
    from jwtgate.fastapi import JwtAuth
    from jwtgate.wsgi import JwtMiddleware as WsgiMiddleware

    policy = proof_vectors()["policies"]["allowed"]
    for bad in ("1700000000", float("nan"), True):
        with pytest.raises(TypeError, match="now must be"):
            JwtMiddleware(None, policy, now=bad)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="now must be"):
            WsgiMiddleware(None, policy, now=bad)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="now must be"):
            JwtAuth(policy, now=bad)  # type: ignore[arg-type]


# -- FastAPI: Security scopes, OpenAPI, one verification per request -------

def gateway_token(**changes: Any) -> str:
    import base64

    doc = vector_files()[0][1]
    secret = doc["policy"]["issuers"][0]["keys"]["hmac_secret"]
    signer = jwtgate.Signer.from_secret("HS256", base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4)))
    claims: dict[str, Any] = {
        "iss": doc["policy"]["issuers"][0]["issuer"], "aud": "api://gateway", "sub": "ada", "roles": ["user"],
        "dept": "IT", "scope": "orders:read profile",
    }
    claims.update(changes)
    return signer.sign({k: v for k, v in claims.items() if v is not None}, lifetime_s=600)


def test_fastapi_security_scopes_are_enforced(asgi_server: str) -> None:
    with httpx.Client(base_url=asgi_server, timeout=10.0) as http:
        read = {"Authorization": f"Bearer {gateway_token()}"}
        r = http.get("/orders", headers=read)
        assert r.status_code == 200 and r.json() == {"sub": "ada"}
        r = http.post("/orders", headers=read)
        assert r.status_code == 403, r.text
        assert r.json()["error"] == "claim" and r.json()["claim"] == "scope"
        challenge = r.headers["www-authenticate"]
        assert challenge.startswith('Bearer error="insufficient_scope"')
        assert challenge.endswith('scope="orders:read orders:write"')
        write = {"Authorization": f"Bearer {gateway_token(scope='orders:read orders:write')}"}
        assert http.post("/orders", headers=write).status_code == 200
        r = http.get("/orders")
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"


def test_fastapi_openapi_declares_the_security_scheme(asgi_server: str) -> None:
    with httpx.Client(base_url=asgi_server, timeout=10.0) as http:
        doc = http.get("/openapi.json").json()
    assert doc["components"]["securitySchemes"]["JwtAuth"] == {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    assert doc["paths"]["/orders"]["get"]["security"] == [{"JwtAuth": ["orders:read"]}]
    assert doc["paths"]["/orders"]["post"]["security"] == [{"JwtAuth": ["orders:read", "orders:write"]}]


def test_middleware_and_dependency_verify_once(asgi_server: str) -> None:
    def verifications(http: httpx.Client) -> int:
        return sum(http.get("/stats").json()["verifications"].values())

    with httpx.Client(base_url=asgi_server, timeout=10.0) as http:
        token = gateway_token(tier="gold")
        before = verifications(http)
        r = http.get("/once/me", headers={"Authorization": f"Bearer {token}", "X-Tier": "forged"})
        assert r.status_code == 200 and r.json() == {"sub": "ada", "x_tier": "gold"}
        assert verifications(http) == before + 1
        r = http.get("/once/me", headers={"Authorization": f"Bearer {gateway_token(dept='HR')}"})
        assert r.status_code == 403 and r.json()["claim"] == "dept"
        assert verifications(http) == before + 2
