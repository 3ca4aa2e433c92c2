"""Verifier.decide, decide_async, decide_after and Route as an API: the
Decision's fields, argument checks, size bounds, and the middleware options
that map onto a route (mode, on_decision)."""

from __future__ import annotations

import asyncio
import io
import json
import time
from typing import Any

import httpx
import pytest
from _support import AUD, ISS, NOW, claims, gateway_policy
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route as StarletteRoute

import jwtgate
from jwtgate.asgi import JwtMiddleware
from jwtgate.wsgi import JwtMiddleware as WsgiMiddleware

FORWARD = {"claims_to_headers": {"sub": "X-User"}}


@pytest.fixture()
def verifier() -> jwtgate.Verifier:
    return jwtgate.Verifier(gateway_policy(forward=FORWARD))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_an_allowed_decision(verifier: jwtgate.Verifier, rsa_signer: jwtgate.Signer) -> None:
    token = rsa_signer.sign(claims(scope="orders:read"))
    d = verifier.decide("GET", "/orders?x=1", {**bearer(token), "X-User": "mallory"}, now=NOW)
    assert d and d.allow and d.status == 200 and d.code is None and d.message is None and d.claim is None
    assert d.mode == "required" and d.issuer == ISS and d.claims is not None and d.claims["sub"] == "ada"
    assert d.verified is not None and d.verified.claims == d.claims
    assert d.set_headers == [("X-User", "ada")] and d.remove_headers == ["x-user"]
    assert d.response_headers == [] and d.www_authenticate is None and d.body is None
    assert d.token_in_query is False and d.upstream_url is None and d.pending is False
    assert d.to_dict()["allow"] is True and "Decision(allow=True" in repr(d)


def test_a_rejection_carries_the_whole_answer(verifier: jwtgate.Verifier, rsa_signer: jwtgate.Signer) -> None:
    d = verifier.decide("GET", "/orders", bearer(rsa_signer.sign(claims())), now=NOW + 10_000)
    assert not d and d.status == 401 and d.code == "expired" and d.claim == "exp"
    assert d.www_authenticate is not None and d.www_authenticate.startswith('Bearer error="invalid_token"')
    names = [n for n, _ in d.response_headers]
    assert names[:3] == ["WWW-Authenticate", "Content-Type", "Cache-Control"]
    assert d.body is not None and json.loads(d.body) == {"error": "expired", "message": d.message, "claim": "exp"}
    assert d.claims is None and d.verified is None and d.set_headers == [] and d.remove_headers == ["x-user"]
    missing = verifier.decide("GET", "/", [])
    assert (missing.status, missing.code, missing.www_authenticate) == (401, "missing_token", "Bearer")


def test_query_tokens_and_routes(verifier: jwtgate.Verifier, rsa_signer: jwtgate.Signer) -> None:
    token = rsa_signer.sign(claims(scope="a b"))
    query = jwtgate.Verifier(gateway_policy(forward=FORWARD) | {"token_sources": [{"query": "access_token"}]})
    d = query.decide("GET", f"/x?access_token={token}&y=2", [], now=NOW)
    assert d.allow and d.token_in_query and d.upstream_url == "/x?y=2"
    kept = query.route({"keep_query_token": True})
    assert query.decide("GET", f"/x?access_token={token}", [], now=NOW, route=kept).upstream_url is None

    scoped = verifier.route({"scopes": ["a", "c"]})
    d = verifier.decide("GET", "/", bearer(token), now=NOW, route=scoped)
    assert (d.status, d.code, d.claim) == (403, "claim", "scope")
    assert d.www_authenticate is not None and d.www_authenticate.endswith('scope="a c"')
    outer = verifier.decide("GET", "/", bearer(token), now=NOW)
    inner = verifier.decide_after(outer, "GET", "/", bearer(token), verifier.route({"scopes": ["a"]}), now=NOW)
    assert inner.allow and inner.claims == outer.claims

    with pytest.raises(jwtgate.PolicyError, match="leway"):
        verifier.route({"leway": 1})
    with pytest.raises(jwtgate.PolicyError, match="already forwards"):
        verifier.route({"claims_to_headers": {"name": "X-User"}})
    a = verifier.route({"claims_to_headers": {"name": "X-Name"}})
    with pytest.raises(jwtgate.PolicyError, match="twice"):
        a.merge(verifier.route({"claims_to_headers": {"email": "x-name"}}))


def test_modes(verifier: jwtgate.Verifier, rsa_signer: jwtgate.Signer) -> None:
    expired = rsa_signer.sign(claims(exp=NOW - 100))
    for mode, status, code in [("optional", 200, None), ("report_only", 200, "missing_token"), ("off", 200, None)]:
        d = verifier.decide("GET", "/", {"X-User": "m"}, route=verifier.route({"mode": mode}))
        assert (d.mode, d.status, d.code, d.claims) == (mode, status, code, None)
        assert d.remove_headers == ["x-user"]
    d = verifier.decide("GET", "/", bearer(expired), now=NOW, route=verifier.route({"mode": "report_only"}))
    assert d.allow and d.code == "expired" and d.set_headers == [] and d.claims is None
    d = verifier.decide("GET", "/", bearer(expired), now=NOW, route=verifier.route({"mode": "optional"}))
    assert not d.allow and d.code == "expired"


def test_decide_async_runs_in_a_thread(verifier: jwtgate.Verifier, rsa_signer: jwtgate.Signer) -> None:
    token = rsa_signer.sign(claims())

    async def main() -> list[jwtgate.Decision]:
        pending = [verifier.decide_async("GET", "/", [(b"authorization", f"Bearer {token}".encode())], now=NOW)
                   for _ in range(8)]
        return list(await asyncio.gather(*pending))

    decisions = asyncio.run(main())
    assert all(d.allow and d.claims == decisions[0].claims for d in decisions)
    with pytest.raises(RuntimeError):  # no running loop
        verifier.decide_async("GET", "/", {})


def test_a_huge_token_is_refused_before_it_is_copied(verifier: jwtgate.Verifier) -> None:
    huge = "a" * 100_000_000
    started = time.monotonic()
    for token in (huge, huge.encode(), "é" * 9000):
        with pytest.raises(jwtgate.TokenTooLargeError) as info:
            verifier.verify(token)
        assert info.value.code == "too_large" and info.value.status == 401
    results = verifier.verify_many([huge, "x.y.z"])
    assert [r.code for r in results] == ["too_large", "malformed"]  # type: ignore[union-attr]
    assert time.monotonic() - started < 5.0  # a copy of 100 MB and a scan take longer on a busy machine

    started = time.monotonic()
    with pytest.raises(jwtgate.InvalidRequestError) as req:
        verifier.decide("GET", "/", {"authorization": "Bearer " + huge})
    assert req.value.code == "invalid_request" and req.value.status == 400
    with pytest.raises(jwtgate.InvalidRequestError):
        verifier.decide("GET", "/" + "a" * (1 << 20), {})
    with pytest.raises(jwtgate.InvalidRequestError):
        verifier.decide("GET", "/", [("x-a", "b" * 600_000), ("x-b", "c" * 600_000)])
    assert time.monotonic() - started < 5.0
    # a large token within the header bound gets the core's own answer
    d = verifier.decide("GET", "/", {"authorization": "Bearer " + "a" * 100_000})
    assert (d.status, d.code) == (401, "too_large")


def test_other_bad_arguments(verifier: jwtgate.Verifier) -> None:
    with pytest.raises(ValueError):
        verifier.decide("GET", "/", {}, peer="not an address")
    with pytest.raises(ValueError):
        verifier.decide("GET", "/", {}, now=float("nan"))
    d = verifier.decide("GET", "/", {}, peer="::1", client_cert=b"\x30\x00")
    assert d.code == "missing_token"
    # undecodable bytes are kept as Latin-1, never refused
    assert verifier.decide(b"GET", b"/\xff", [(b"x-a", b"\xff\xfe")]).code == "missing_token"


def starlette(policy: Any, **options: Any) -> Starlette:
    async def me(request: Request) -> JSONResponse:
        return JSONResponse({"auth": request.state.auth, "x_user": request.headers.get("x-user")})

    app = Starlette(routes=[StarletteRoute("/me", me)])
    app.add_middleware(JwtMiddleware, policy=policy, **options)
    return app


def test_middleware_mode_and_on_decision(rsa_signer: jwtgate.Signer) -> None:
    seen: list[tuple[str | None, str]] = []

    async def report(decision: jwtgate.Decision, scope: Any) -> None:
        seen.append((decision.code, scope["path"]))

    app = starlette(jwtgate.Verifier(gateway_policy(forward=FORWARD)), mode="report_only", on_decision=report)
    expired = rsa_signer.sign(claims(exp=1_000_000_000))
    good = rsa_signer.sign(claims(exp=4_000_000_000))

    async def main() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            r = await client.get("/me", headers={**bearer(expired), "X-User": "mallory"})
            assert r.status_code == 200 and r.json() == {"auth": None, "x_user": None}
            r = await client.get("/me", headers=bearer(good))
            assert r.status_code == 200 and r.json() == {"auth": r.json()["auth"], "x_user": "ada"}

    asyncio.run(main())
    assert seen == [("expired", "/me"), (None, "/me")]


def test_wsgi_options_and_query_tokens(rsa_signer: jwtgate.Signer) -> None:
    policy = gateway_policy(forward=FORWARD) | {"token_sources": [{"query": "access_token"}]}
    seen: dict[str, Any] = {}

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.update(query=environ["QUERY_STRING"], uri=environ.get("REQUEST_URI"), user=environ.get("HTTP_X_USER"))
        start_response("200 OK", [])
        return [b"ok"]

    decisions: list[jwtgate.Decision] = []
    wrapped = WsgiMiddleware(app, policy, exclude=["/health"], on_decision=lambda d, e: decisions.append(d))
    token = rsa_signer.sign(claims(exp=4_000_000_000))
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/x", "QUERY_STRING": f"a=1&access_token={token}",
               "REQUEST_URI": f"/x?a=1&access_token={token}", "wsgi.input": io.BytesIO(), "HTTP_X_USER": "m"}
    assert wrapped(environ, lambda s, h: None) == [b"ok"]
    assert seen == {"query": "a=1", "uri": "/x?a=1", "user": "ada"}
    health = {"REQUEST_METHOD": "GET", "PATH_INFO": "/health/live", "QUERY_STRING": "", "HTTP_X_USER": "m"}
    assert wrapped(health, lambda s, h: None) == [b"ok"]
    assert seen["user"] is None and decisions[-1].mode == "off"


def test_error_classes_for_the_gateway_codes() -> None:
    for cls, code, status in [(jwtgate.MissingTokenError, "missing_token", 401),
                              (jwtgate.MissingClaimError, "missing_claim", 401),
                              (jwtgate.InvalidRequestError, "invalid_request", 400)]:
        assert issubclass(cls, jwtgate.JwtError) and cls.code == code and cls.status == status
    assert AUD  # the shared audience is part of every policy here


def test_a_huge_token_costs_no_copy_in_memory() -> None:
    # In a fresh interpreter: the 100 MB string itself, and no copy of it
    # (converting first took about 312 MB resident).
    import subprocess
    import sys

    script = f"""
import resource, jwtgate
from _support import gateway_policy
v = jwtgate.Verifier(gateway_policy())
huge = "a" * 100_000_000
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
for _ in range(3):
    try:
        v.verify(huge)
    except jwtgate.TokenTooLargeError:
        pass
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base)
"""
    from pathlib import Path

    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                         cwd=Path(__file__).parent)
    assert out.returncode == 0, out.stderr
    grown_kib = int(out.stdout.strip())
    assert grown_kib < 20_000, f"verify grew the peak resident size by {grown_kib} KiB"


def test_a_nested_layer_with_another_verifier_decides_on_its_own(rsa_signer: jwtgate.Signer) -> None:
    # The outer verifier accepts any audience of its policy; the inner one
    # wants another audience: reusing the outer result would let it through.
    outer = jwtgate.Verifier(gateway_policy())
    inner = jwtgate.Verifier(gateway_policy(audiences=["api://other"]))
    seen: list[Any] = []

    async def echo(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["state"]["auth"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    app = JwtMiddleware(JwtMiddleware(echo, inner), outer)
    token = rsa_signer.sign(claims(exp=4_000_000_000))

    async def main() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            r = await client.get("/x", headers=bearer(token))
            assert r.status_code == 401 and r.json()["error"] == "audience"

    asyncio.run(main())
    assert seen == []


def test_offloaded_layers_decide_in_the_executor(rsa_signer: jwtgate.Signer) -> None:
    from fastapi import Depends, FastAPI

    from jwtgate.fastapi import JwtAuth

    verifier = jwtgate.Verifier(gateway_policy(forward=FORWARD))
    auth = JwtAuth(verifier, offload=True)
    app = FastAPI()
    app.add_middleware(JwtMiddleware, policy=verifier, exclude=["/dep"], offload=True)

    @app.get("/dep/me")
    async def dep_me(request: Request, claims: dict[str, Any] = Depends(auth)) -> dict[str, Any]:
        return {"sub": claims["sub"], "x_user": request.headers.get("x-user")}

    @app.get("/me")
    async def me(request: Request, claims: dict[str, Any] = Depends(auth.require(scopes=["a"]))) -> dict[str, Any]:
        return {"sub": claims["sub"], "x_user": request.headers.get("x-user")}

    token = rsa_signer.sign(claims(exp=4_000_000_000, scope="a"))

    async def main() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            for path in ("/dep/me", "/me"):
                r = await client.get(path, headers={**bearer(token), "X-User": "mallory"})
                assert r.status_code == 200 and r.json() == {"sub": "ada", "x_user": "ada"}, r.text
                r = await client.get(path, headers={"X-User": "mallory"})
                assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"

    asyncio.run(main())
