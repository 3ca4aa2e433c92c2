"""ASGI middleware (Starlette, FastAPI and any ASGI 3 app).

    app.add_middleware(JwtMiddleware, policy=policy, exclude=["/health"])

Every HTTP and WebSocket request outside the excluded path prefixes must
carry a token where the policy's ``token_sources`` say (header, cookie or
query, looked up by the core). A verified request reaches the app with the
claims in ``scope["state"]["auth"]`` (``request.state.auth`` in Starlette),
the ``Verified`` result in ``scope["jwtgate"]`` and the policy's forward
headers (``claims_to_headers``, ``payload_header``) set on the request,
replacing any the client sent. A rejected one gets 401, 403 or 503 with
``WWW-Authenticate`` and a JSON body ``{"error": code, "message": ...}``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterable, MutableMapping
from typing import Any, Callable

from ._http import (
    PolicyLike,
    as_verifier,
    forward_header_names,
    has_remote_keys,
    is_excluded,
    normalize_prefixes,
    rejection,
)
from ._jwtgate import JwtError, Verified

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

__all__ = ["JwtMiddleware"]


class JwtMiddleware:
    """Rejects requests without a valid token; see the module docstring.

    ``policy`` is a ``Verifier`` or anything ``Verifier()`` accepts.
    ``exclude`` lists path prefixes that skip authentication (segment-wise:
    ``"/health"`` covers ``/health/live``, not ``/healthz``).
    ``forward_headers`` sets the policy's forward headers on the request.
    ``offload`` verifies in the event loop's executor instead of inline.
    By default (None) it is on when the policy fetches keys over the
    network (``jwks_uri``, ``discovery``, ``jku``), since a first fetch or
    a refetch for an unknown ``kid`` would otherwise stall the loop, and off
    for static keys, where an inline verification takes microseconds and a
    thread hop would cost more than it saves.
    """

    def __init__(
        self,
        app: ASGIApp,
        policy: PolicyLike,
        *,
        exclude: Iterable[str] = (),
        forward_headers: bool = True,
        offload: bool | None = None,
    ) -> None:
        self.app = app
        self.verifier = as_verifier(policy)
        self.exclude = normalize_prefixes(exclude)
        self.forward_headers = forward_headers
        self.offload = has_remote_keys(self.verifier) if offload is None else offload
        self._forwarded = frozenset(n.encode("latin-1") for n in forward_header_names(self.verifier))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket") or is_excluded(scope.get("path", ""), self.exclude):
            await self.app(scope, receive, send)
            return
        headers = scope.get("headers") or []
        token = self.verifier.find_token(headers, scope.get("query_string") or None)
        error: JwtError | None = None
        verified: Verified | None = None
        if token is not None:
            try:
                if self.offload:
                    verified = await self.verifier.verify_async(token)
                else:
                    verified = self.verifier.verify(token)
            except JwtError as e:
                error = e
        if verified is None:
            await _reject(kind, error, send)
            return
        scope = dict(scope)
        state = scope.get("state")
        if state is None:
            state = scope["state"] = {}
        state["auth"] = verified.claims
        scope["jwtgate"] = verified
        if self.forward_headers and self._forwarded:
            kept = [(k, v) for k, v in headers if k.lower() not in self._forwarded]
            kept.extend((k.lower().encode("latin-1"), v.encode()) for k, v in verified.headers.items())
            scope["headers"] = kept
        await self.app(scope, receive, send)


async def _reject(kind: str, error: JwtError | None, send: Send) -> None:
    status, challenge, body = rejection(error)
    if kind == "websocket":
        # Closing before accept makes the server answer the handshake with 403.
        await send({"type": "websocket.close", "code": 1008})
        return
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"www-authenticate", challenge.encode("latin-1")),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
