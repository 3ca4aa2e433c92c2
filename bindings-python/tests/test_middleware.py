"""The ASGI middleware in process (both verification modes), its setup
checks, and the WSGI middleware called directly."""

from __future__ import annotations

import asyncio
import io
import json
from typing import Any

import httpx
import pytest
from _support import NOW, claims, gateway_policy
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import jwtgate
from jwtgate.asgi import JwtMiddleware
from jwtgate.wsgi import JwtMiddleware as WsgiMiddleware


def starlette_app(policy: Any, **options: Any) -> Starlette:
    async def me(request: Request) -> JSONResponse:
        return JSONResponse({"sub": request.state.auth["sub"], "x_user": request.headers.get("x-user")})

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    app = Starlette(routes=[Route("/me", me), Route("/health", health), Route("/healthz", health)])
    app.add_middleware(JwtMiddleware, policy=policy, exclude=["/health"], **options)
    return app


@pytest.mark.parametrize("offload", [False, True])
def test_asgi_in_both_modes(offload: bool, rsa_signer: jwtgate.Signer) -> None:
    policy = gateway_policy(forward={"claims_to_headers": {"sub": "X-User"}})
    middleware_app = starlette_app(policy, offload=offload)
    good = rsa_signer.sign(claims(exp=4_000_000_000))

    async def main() -> None:
        transport = httpx.ASGITransport(app=middleware_app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            r = await client.get("/me", headers={"Authorization": f"Bearer {good}", "X-User": "mallory"})
            assert r.status_code == 200 and r.json() == {"sub": "ada", "x_user": "ada"}
            assert (await client.get("/health")).status_code == 200
            assert (await client.get("/health/deep")).status_code == 404  # excluded, then routed
            r = await client.get("/healthz")  # not under /health
            assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
            r = await client.get("/me", headers={"Authorization": f"Bearer {good}x"})
            assert r.status_code == 401 and r.json()["error"] == "signature"

    asyncio.run(main())


def test_offload_defaults_follow_the_key_source() -> None:
    static = JwtMiddleware(starlette_app, gateway_policy())  # type: ignore[arg-type]
    assert static.offload is False
    remote = gateway_policy(keys={"jwks_uri": "https://idp.test/jwks.json"})
    assert JwtMiddleware(starlette_app, remote).offload is True  # type: ignore[arg-type]
    assert JwtMiddleware(starlette_app, remote, offload=False).offload is False  # type: ignore[arg-type]


def test_exclude_must_be_path_prefixes() -> None:
    with pytest.raises(TypeError):
        JwtMiddleware(starlette_app, gateway_policy(), exclude="/health")  # type: ignore[arg-type]
    with pytest.raises(jwtgate.PolicyError, match="exclude"):  # the core checks route documents
        JwtMiddleware(starlette_app, gateway_policy(), exclude=["health"])  # type: ignore[arg-type]
    with pytest.raises(jwtgate.PolicyError, match="mode"):
        JwtMiddleware(starlette_app, gateway_policy(), mode="sometimes")  # type: ignore[arg-type]
    with pytest.raises(jwtgate.PolicyError):
        JwtMiddleware(starlette_app, {"issuers": []})  # type: ignore[arg-type]


def test_wsgi_called_directly(rsa_signer: jwtgate.Signer) -> None:
    seen: dict[str, Any] = {}

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.update(claims=environ["jwtgate.claims"], user=environ.get("HTTP_X_USER"))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    policy = gateway_policy(forward={"claims_to_headers": {"sub": "X-User"}})
    wrapped = WsgiMiddleware(app, policy)
    token = rsa_signer.sign(claims(exp=4_000_000_000))
    status: list[str] = []
    headers: list[Any] = []

    def start_response(s: str, h: list[Any]) -> None:
        status.append(s)
        headers.append(dict(h))

    def environ(**extra: str) -> dict[str, Any]:
        return {"REQUEST_METHOD": "GET", "PATH_INFO": "/x", "QUERY_STRING": "", "wsgi.input": io.BytesIO(), **extra}

    assert wrapped(environ(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_X_USER="mallory"), start_response) == [b"ok"]
    assert status[-1] == "200 OK" and seen["claims"]["sub"] == "ada" and seen["user"] == "ada"
    body = b"".join(wrapped(environ(HTTP_AUTHORIZATION="Bearer nope"), start_response))
    assert status[-1] == "401 Unauthorized" and json.loads(body)["error"] == "malformed"
    assert headers[-1]["WWW-Authenticate"].startswith('Bearer error="invalid_token"')
    wrapped_past = WsgiMiddleware(app, jwtgate.Verifier(policy))
    expired = rsa_signer.sign(claims(exp=NOW))
    body = b"".join(wrapped_past(environ(HTTP_AUTHORIZATION=f"Bearer {expired}"), start_response))
    answer = json.loads(body)
    assert status[-1] == "401 Unauthorized" and answer["error"] == "expired" and answer["claim"] == "exp"


@pytest.mark.filterwarnings("ignore:Using .httpx. with .starlette.testclient.")
def test_asgi_websockets(rsa_signer: jwtgate.Signer) -> None:
    from starlette.routing import WebSocketRoute
    from starlette.testclient import TestClient
    from starlette.websockets import WebSocket, WebSocketDisconnect

    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_json({"sub": websocket.state.auth["sub"]})
        await websocket.close()

    app = Starlette(routes=[WebSocketRoute("/ws", ws)])
    app.add_middleware(JwtMiddleware, policy=gateway_policy())
    token = rsa_signer.sign(claims(exp=4_000_000_000))
    with TestClient(app) as client:
        with client.websocket_connect("/ws", headers={"Authorization": f"Bearer {token}"}) as socket:
            assert socket.receive_json() == {"sub": "ada"}
        with pytest.raises(WebSocketDisconnect) as info:
            with client.websocket_connect("/ws", headers={"Authorization": "Bearer nope"}):
                pass
        assert info.value.code == 1008
        with pytest.raises(WebSocketDisconnect):
            with client.websocket_connect("/ws"):
                pass
