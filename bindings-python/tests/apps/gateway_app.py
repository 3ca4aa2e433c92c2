"""The shared gateway vectors (tests/gateway/*.json) behind real ASGI and
WSGI stacks, each in front of an echo endpoint that answers with the
headers and the URL it received.

An ASGI request picks its stack with ``X-Gateway-Case: <flavor>:<file>:<case>``:

- ``asgi``: one ``JwtMiddleware`` per route level, nested (outermost first);
- ``fastapi``: ``JwtMiddleware`` with the first level, then one
  ``Depends(auth.require(**level))`` per further level;
- ``deps``: FastAPI with every level as a dependency and no middleware.

The DPoP proof vectors (tests/dpop/dpop.json) have one stack per flavor
and policy, ``<flavor>:dpop.json:<policy>``, each with its own verifier
(its own replay store) and the clock pinned at the vectors' ``now``
(the ``now`` option); ``redis_down`` is the ``allowed`` policy with a Redis
replay store nobody answers on.

Without that header the request goes to ``extras``: a FastAPI app with
``Security`` scopes, the OpenAPI document and the verify-once check.
``wsgi_app`` does the same for WSGI (levels merged with ``Route.merge``:
the stack is flat).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Optional
from urllib.parse import quote

from jwtgate_testsupport.ports import free_port
from fastapi import Depends, FastAPI, Request, Security

from jwtgate import Verifier
from jwtgate.asgi import JwtMiddleware
from jwtgate.fastapi import JwtAuth
from jwtgate.wsgi import JwtMiddleware as WsgiMiddleware

VECTORS = Path(__file__).resolve().parents[3] / "tests" / "gateway"
DPOP_VECTORS = Path(__file__).resolve().parents[3] / "tests" / "dpop" / "gateway_dpop.json"
PROOF_VECTORS = DPOP_VECTORS.parent / "dpop.json"
CASE_HEADER = "x-gateway-case"
PROOFS = "dpop.json"


def vector_files() -> list[tuple[str, dict[str, Any]]]:
    """The gateway vectors, then the sender-constrained ones (DPoP schemes
    and proofs, the RFC 9728 metadata the gateway answers itself)."""
    files = sorted(VECTORS.glob("*.json")) + [DPOP_VECTORS]
    return [(p.name, json.loads(p.read_text())) for p in files]


def proof_vectors() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(PROOF_VECTORS.read_text())
    return doc


def proof_policies(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """dpop.json's policies, and ``redis_down``: a replay store that cannot answer."""
    policies: dict[str, dict[str, Any]] = dict(doc["policies"])
    store = {"redis": f"redis://127.0.0.1:{free_port()}/0", "timeout_ms": 200}
    policies["redis_down"] = dict(policies["allowed"], replay_store=store)
    return policies


async def asgi_echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    assert scope["type"] == "http"
    raw = scope.get("raw_path") or quote(scope["path"]).encode()
    query = scope.get("query_string") or b""
    url = (raw + b"?" + query if query else raw).decode("latin-1")
    headers = [[k.decode("latin-1"), v.decode("latin-1")] for k, v in scope["headers"]]
    auth = (scope.get("state") or {}).get("auth")
    body = json.dumps({"headers": headers, "url": url, "auth": auth}).encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


def asgi_stack(verifier: Verifier, routes: list[dict[str, Any]], now: Optional[float] = None) -> Any:
    app: Any = asgi_echo
    for level in reversed(routes or [{}]):
        app = JwtMiddleware(app, verifier, route=level, now=now)
    return app


def fastapi_stack(
    verifier: Verifier, routes: list[dict[str, Any]], middleware: bool, now: Optional[float] = None
) -> FastAPI:
    auth = JwtAuth(verifier, now=now)
    levels = routes[1:] if middleware else (routes or [{}])
    app = FastAPI()
    if middleware:
        app.add_middleware(JwtMiddleware, policy=verifier, route=routes[0] if routes else None, now=now)

    methods = ["GET", "POST", "DELETE"]

    @app.api_route("/{path:path}", methods=methods, dependencies=[Depends(auth.require(**lvl)) for lvl in levels])
    async def echo(request: Request) -> dict[str, Any]:
        raw = request.scope.get("raw_path") or quote(request.scope["path"]).encode()
        query = request.scope.get("query_string") or b""
        url = (raw + b"?" + query if query else raw).decode("latin-1")
        headers = [[k.decode("latin-1"), v.decode("latin-1")] for k, v in request.headers.raw]
        return {"headers": headers, "url": url, "auth": getattr(request.state, "auth", None)}

    return app


def extras(verifier: Verifier, uncached: Verifier) -> FastAPI:
    auth = JwtAuth(verifier)
    app = FastAPI()

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/orders")
    async def orders(claims: dict[str, Any] = Security(auth, scopes=["orders:read"])) -> dict[str, Any]:
        return {"sub": claims["sub"]}

    @app.post("/orders")
    async def create(claims: dict[str, Any] = Security(auth, scopes=["orders:read", "orders:write"])) -> dict[str, Any]:
        return {"sub": claims["sub"]}

    # Verify once: the middleware of the sub-app verifies, the dependency
    # only checks its own route (the cache is off in `uncached`).
    once = FastAPI()
    once.add_middleware(JwtMiddleware, policy=uncached)
    it_only = JwtAuth(uncached).require({"dept": {"equals": "IT"}}, claims_to_headers={"tier": "X-Tier"})

    @once.get("/me")
    async def me(request: Request, claims: dict[str, Any] = Depends(it_only)) -> dict[str, Any]:
        return {"sub": claims["sub"], "x_tier": request.headers.get("x-tier")}

    @app.get("/stats")
    async def stats() -> dict[str, Any]:
        return dict(uncached.stats())

    app.mount("/once", once)
    return app


def build() -> tuple[dict[str, Any], Callable[..., Any]]:
    stacks: dict[str, Any] = {}
    for name, doc in vector_files():
        verifier = Verifier(doc["policy"])
        for i, case in enumerate(doc["cases"]):
            routes = case["routes"]
            stacks[f"asgi:{name}:{i}"] = asgi_stack(verifier, routes)
            stacks[f"fastapi:{name}:{i}"] = fastapi_stack(verifier, routes, middleware=True)
            stacks[f"deps:{name}:{i}"] = fastapi_stack(verifier, routes, middleware=False)
    proofs = proof_vectors()
    for policy_name, policy in proof_policies(proofs).items():
        now = proofs["now"]
        stacks[f"asgi:{PROOFS}:{policy_name}"] = asgi_stack(Verifier(policy), [], now)
        stacks[f"fastapi:{PROOFS}:{policy_name}"] = fastapi_stack(Verifier(policy), [], True, now)
        stacks[f"deps:{PROOFS}:{policy_name}"] = fastapi_stack(Verifier(policy), [], False, now)
    name, doc = vector_files()[0]
    uncached = dict(doc["policy"], cache={"max_entries": 0})
    default = extras(Verifier(doc["policy"]), Verifier(uncached))

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            for key, value in scope["headers"]:
                if key == CASE_HEADER.encode():
                    await stacks[value.decode()](scope, receive, send)
                    return
        await default(scope, receive, send)

    return stacks, app


_, app = build()


def wsgi_echo(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    headers = [[key[5:].replace("_", "-").lower(), value] for key, value in environ.items() if key.startswith("HTTP_")]
    path = quote(environ.get("PATH_INFO", "").encode("latin-1"))
    query = environ.get("QUERY_STRING", "")
    url = f"{path}?{query}" if query else path
    body = json.dumps({"headers": headers, "url": url, "auth": environ.get("jwtgate.claims")}).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def wsgi_app() -> Callable[..., Any]:
    stacks: dict[str, Any] = {}
    for name, doc in vector_files():
        verifier = Verifier(doc["policy"])
        for i, case in enumerate(doc["cases"]):
            route = verifier.route({})
            for level in case["routes"]:
                route = route.merge(verifier.route(level))
            stacks[f"wsgi:{name}:{i}"] = WsgiMiddleware(wsgi_echo, verifier, route=route)
    proofs = proof_vectors()
    for policy_name, policy in proof_policies(proofs).items():
        stacks[f"wsgi:{PROOFS}:{policy_name}"] = WsgiMiddleware(wsgi_echo, Verifier(policy), now=proofs["now"])

    def dispatch(environ: dict[str, Any], start_response: Any) -> Any:
        key = environ.get("HTTP_" + CASE_HEADER.upper().replace("-", "_"), "")
        if key in stacks:
            return stacks[key](environ, start_response)
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b'{"status": "ok"}']

    return dispatch
