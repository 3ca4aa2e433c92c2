"""ASGI middleware (Starlette, FastAPI and any ASGI 3 app).

    app.add_middleware(JwtMiddleware, policy=policy, exclude=["/health"])

For every HTTP and WebSocket request the middleware asks the core for a
decision (``Verifier.decide``) and applies it as it is:

- every header name in ``decision.remove_headers`` is removed from the
  request, on every path (excluded paths and mode ``off`` included), so a
  client's own ``X-User`` never reaches the app;
- allowed: ``decision.set_headers`` are set, a query-string token is cut
  from ``query_string`` when ``decision.upstream_url`` says so, the claims
  go into ``scope["state"]["auth"]`` (``request.state.auth`` in Starlette;
  None without identity) and the ``Verified`` result into
  ``scope["jwtgate"]``;
- rejected: the answer is ``decision.status`` with
  ``decision.response_headers`` and ``decision.body`` (a WebSocket
  handshake is closed with code 1008, which servers answer with 403).

Options map onto a route document (``Verifier.route``): ``route`` (a
``Route`` or a dict), ``exclude`` (path prefixes in mode ``off``,
segment-wise) and ``mode`` (``required``, ``optional``, ``report_only``,
``off``). ``on_decision(decision, scope)`` sees every decision (for
report-only rollouts); ``now`` fixes the instant to decide at (unix
seconds, or a function returning them per request; for tests that replay
requests made at a known time). A middleware inside another one (or a
``jwtgate.fastapi`` dependency after it) checks only its own route on the
token the outer one verified (``Verifier.decide_after``).
"""

from __future__ import annotations

import asyncio
import functools

from collections.abc import Awaitable, Iterable, MutableMapping
from typing import Any, Callable, Optional
from urllib.parse import quote

from ._http import (
    DECISION_KEY,
    REQUEST_KEY,
    VERIFIER_KEY,
    Now,
    OnDecision,
    PolicyLike,
    RouteLike,
    as_verifier,
    call_hook,
    clock_of,
    has_remote_keys,
    middleware_route,
    client_cert_der,
    peer_address,
    query_of,
)
from ._jwtgate import Decision, Route, Verifier

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

__all__ = ["JwtMiddleware", "decide_scope", "apply_to_scope"]


def request_target(scope: Scope) -> bytes:
    """The request target as received: ``raw_path`` (or the quoted
    ``path``) and the query string."""
    raw = scope.get("raw_path") or quote(scope.get("path") or "/").encode("latin-1")
    query = scope.get("query_string") or b""
    return raw + b"?" + query if query else raw


async def decide_scope(
    verifier: Verifier, scope: Scope, route: Route, offload: bool, now: Optional[float] = None
) -> Decision:
    """The decision for an ASGI request (at ``now``, unix seconds, when
    given): after an outer layer's decision stored in the scope, only
    ``route`` is checked on its token."""
    previous = scope.get(DECISION_KEY)
    if previous is not None and scope.get(VERIFIER_KEY) is verifier:
        method, url, headers = scope[REQUEST_KEY]
        if offload and previous.verified is None:
            # The outer layer verified nothing (an excluded path): this one
            # may wait on a key fetch, so not on the loop's thread.
            call = functools.partial(verifier.decide_after, previous, method, url, headers, route, now)
            waited: Decision = await asyncio.get_running_loop().run_in_executor(None, call)
            return waited
        after: Decision = verifier.decide_after(previous, method, url, headers, route, now)
        return after
    method = scope.get("method", "GET")
    url = request_target(scope)
    headers = list(scope.get("headers") or [])
    scope[REQUEST_KEY] = (method, url, headers)
    scope[VERIFIER_KEY] = verifier
    cert = _client_cert(scope) if verifier.reads_client_cert else None
    if offload:
        decision: Decision = await verifier.decide_async(
            method, url, headers, now=now, route=route, peer=_peer(scope), client_cert=cert)
        return decision
    return verifier.decide(method, url, headers, now=now, route=route, peer=_peer(scope), client_cert=cert)


def _peer(scope: Scope) -> Optional[str]:
    client = scope.get("client")
    return peer_address(client[0]) if client else None


def _client_cert(scope: Scope) -> Optional[bytes]:
    """The client's certificate from the ASGI TLS extension (servers that
    terminate TLS and implement it; the handshake proved the key)."""
    tls = (scope.get("extensions") or {}).get("tls")
    chain = tls.get("client_cert_chain") if isinstance(tls, dict) else None
    return client_cert_der(chain[0]) if chain else None


def apply_to_scope(decision: Decision, scope: Scope) -> None:
    """Applies an allowing decision to the scope: headers removed and set,
    the upstream query string, the claims and the decision for later layers."""
    headers = [(k, v) for k, v in scope.get("headers") or [] if not decision.removes_header(k)]
    headers.extend((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in decision.set_headers)
    scope["headers"] = headers
    if decision.upstream_url is not None:
        scope["query_string"] = query_of(decision.upstream_url).encode("latin-1")
    state = scope.get("state")
    if state is None:
        state = scope["state"] = {}
    claims = decision.claims
    if claims is not None or "auth" not in state:
        state["auth"] = claims
    verified = decision.verified
    if verified is not None or "jwtgate" not in scope:
        scope["jwtgate"] = verified
    scope[DECISION_KEY] = decision


class JwtMiddleware:
    """Applies the core's decision to every request; see the module docstring.

    ``policy`` is a ``Verifier`` or anything ``Verifier()`` accepts.
    ``offload`` decides in the event loop's executor (``decide_async``)
    instead of inline. By default (None) it is on when the policy fetches
    keys over the network (``jwks_uri``, ``discovery``, ``jku``), since a
    first fetch or a refetch for an unknown ``kid`` would otherwise stall
    the loop, and off for static keys, where an inline decision takes
    microseconds and a thread hop would cost more than it saves.
    """

    def __init__(
        self,
        app: ASGIApp,
        policy: PolicyLike,
        *,
        route: RouteLike = None,
        exclude: Iterable[str] = (),
        mode: Optional[str] = None,
        on_decision: Optional[OnDecision] = None,
        offload: Optional[bool] = None,
        now: Now = None,
    ) -> None:
        self.app = app
        self.verifier = as_verifier(policy)
        self.route = middleware_route(self.verifier, route, exclude, mode)
        self.on_decision = on_decision
        self.offload = has_remote_keys(self.verifier) if offload is None else offload
        self.clock = clock_of(now)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        scope = dict(scope)
        now = None if self.clock is None else self.clock()
        decision = await decide_scope(self.verifier, scope, self.route, self.offload, now)
        await call_hook(self.on_decision, decision, scope)
        if not decision.allow:
            await _reject(kind, decision, send)
            return
        apply_to_scope(decision, scope)
        await self.app(scope, receive, send)


async def _reject(kind: str, decision: Decision, send: Send) -> None:
    if kind == "websocket":
        # Closing before accept makes the server answer the handshake with 403.
        await send({"type": "websocket.close", "code": 1008})
        return
    body = decision.body or b""
    headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in decision.response_headers]
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": decision.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
