"""A FastAPI security dependency: the core decides, the dependency returns
the verified claims.

    auth = JwtAuth(policy)

    @app.get("/orders")
    async def orders(claims: dict = Security(auth, scopes=["orders:read"])): ...

    admin = auth.require({"roles": {"contains_all": ["admin"]}})

    @app.delete("/orders/{id}")
    async def delete(id: int, claims: dict = Depends(admin)): ...

``JwtAuth`` is a FastAPI security scheme (HTTP bearer, JWT), so the app's
OpenAPI lists it under ``components.securitySchemes`` and the docs get an
Authorize button. The scopes of ``Security(auth, scopes=[...])`` become the
route's ``scopes`` (all required, in ``scope`` or ``scp``; a missing one is
403 with a ``scope=`` challenge). ``require`` adds route requirements (a
route document's fields, compiled once by ``Verifier.route``).

Behind ``jwtgate.asgi.JwtMiddleware`` with the same ``Verifier`` the
dependency does not verify the token again: it checks only its own route on
the middleware's decision (``Verifier.decide_after``). A rejection raises
``Rejected`` (an ``HTTPException``) whose response is the core's status,
headers and JSON body exactly as every other runtime answers: the
dependency registers ``rejection_handler`` for ``Rejected`` in the running
app's exception handlers. (Register it yourself with
``app.add_exception_handler(Rejected, rejection_handler)`` on a stack that
does not expose them; without it FastAPI's own handler answers with the
core's body under ``detail``.)
An allowed decision is applied to the request: forwarded headers removed
and set, a query-string token cut, ``request.state.auth`` set.

(No ``from __future__ import annotations`` here: FastAPI reads the
annotations of ``__call__`` at run time, and on older versions it cannot
resolve string annotations of a callable instance.)
"""

import json
from collections.abc import Mapping
from typing import Any, Optional

from fastapi import HTTPException, Request
from fastapi.responses import Response
from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
from fastapi.security import SecurityScopes
from fastapi.security.base import SecurityBase

from ._http import (
    Now,
    OnDecision,
    PolicyLike,
    RouteLike,
    as_route,
    as_verifier,
    call_hook,
    clock_of,
    has_remote_keys,
)
from ._jwtgate import Decision, Route, Verifier
from .asgi import apply_to_scope, decide_scope

__all__ = ["JwtAuth", "Rejected", "rejection_handler"]


class Rejected(HTTPException):
    """A request the core rejected: ``decision`` holds the whole answer.
    ``detail`` is the core's body as a dict, for handlers that expect one."""

    def __init__(self, decision: Decision) -> None:
        super().__init__(
            status_code=decision.status,
            detail=json.loads(decision.body or "null"),
            headers=dict(decision.response_headers),
        )
        self.decision = decision


async def rejection_handler(request: Request, exc: Exception) -> Response:
    """The core's answer to a rejected request, as every runtime sends it."""
    assert isinstance(exc, Rejected)
    decision = exc.decision
    return Response(
        content=decision.body or "",
        status_code=decision.status,
        headers=dict(decision.response_headers),
    )


def _register_handler(scope: Any) -> None:
    """Adds ``rejection_handler`` for ``Rejected`` to the running app's
    exception handlers, which Starlette keeps in the scope for the route's
    own error handling; an app's own handler for ``Rejected`` stays."""
    handlers = scope.get("starlette.exception_handlers")
    if isinstance(handlers, tuple) and handlers and isinstance(handlers[0], dict):
        handlers[0].setdefault(Rejected, rejection_handler)


class JwtAuth(SecurityBase):
    """A ``Depends``/``Security`` dependency returning the verified claims
    (a dict; None when the route's mode lets a request through without
    identity).

    ``route`` is a ``Route`` or a route document (dict) this dependency
    adds; ``mode`` sets its mode; ``on_decision(decision, scope)`` sees
    every decision. ``offload`` works as in ``jwtgate.asgi.JwtMiddleware``:
    by default the decision runs in the executor only when the policy
    fetches keys over the network. ``now`` fixes the instant to decide at
    as in the middleware (tests). ``scheme_name`` names the OpenAPI
    security scheme (default ``JwtAuth``).
    """

    def __init__(
        self,
        policy: PolicyLike,
        *,
        route: RouteLike = None,
        mode: Optional[str] = None,
        on_decision: Optional[OnDecision] = None,
        offload: Optional[bool] = None,
        scheme_name: Optional[str] = None,
        description: Optional[str] = None,
        now: Now = None,
    ) -> None:
        self.verifier: Verifier = as_verifier(policy)
        base = as_route(self.verifier, route)
        if mode is not None:
            own = self.verifier.route({"mode": mode})
            base = own if base is None else base.merge(own)
        self.route: Route = base if base is not None else self.verifier.route({})
        self.on_decision = on_decision
        self.offload = has_remote_keys(self.verifier) if offload is None else offload
        self.clock = clock_of(now)
        self.model = HTTPBearerModel(bearerFormat="JWT", description=description)
        self.scheme_name = scheme_name or type(self).__name__
        self._scoped: dict[tuple[str, ...], Route] = {}

    def require(self, claims: Optional[Mapping[str, Any]] = None, **route: Any) -> "JwtAuth":
        """A dependency that also enforces these claim rules (the policy's
        ``claims`` syntax) and route requirements (``scopes``,
        ``claims_to_headers``, ``payload_header``, ``token_sources``,
        ``mode``, ``keep_query_token``, ``exclude``), on top of this one's:
        routes only add to the policy. Compiled once, here."""
        doc: dict[str, Any] = dict(route)
        if claims is not None:
            doc["claims"] = dict(claims)
        child = JwtAuth.__new__(JwtAuth)
        child.verifier = self.verifier
        child.route = self.route.merge(self.verifier.route(doc))
        child.on_decision = self.on_decision
        child.offload = self.offload
        child.clock = self.clock
        child.model = self.model
        child.scheme_name = self.scheme_name
        child._scoped = {}
        return child

    def _route_for(self, scopes: list[str]) -> Route:
        if not scopes:
            return self.route
        key = tuple(scopes)
        route = self._scoped.get(key)
        if route is None:
            route = self.route.merge(self.verifier.route({"scopes": list(key)}))
            if len(self._scoped) < 1024:  # scopes are per endpoint: few
                self._scoped[key] = route
        return route

    async def __call__(self, request: Request, security_scopes: SecurityScopes) -> Optional[dict[str, Any]]:
        scope = request.scope
        route = self._route_for(security_scopes.scopes)
        now = None if self.clock is None else self.clock()
        decision: Decision = await decide_scope(self.verifier, scope, route, self.offload, now)
        await call_hook(self.on_decision, decision, scope)
        if not decision.allow:
            _register_handler(scope)
            raise Rejected(decision)
        apply_to_scope(decision, scope)
        # Starlette caches what it read of the scope on the request object.
        for cached in ("_headers", "_query_params", "_url"):
            request.__dict__.pop(cached, None)
        claims: Optional[dict[str, Any]] = decision.claims
        return claims

