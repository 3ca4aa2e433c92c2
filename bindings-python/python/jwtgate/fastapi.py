"""A FastAPI dependency that verifies the request's token and returns its
claims, with optional claim rules per route.

    auth = JwtAuth(policy)

    @app.get("/orders")
    async def orders(claims: dict = Depends(auth)): ...

    admin = auth.require({"roles": {"contains_all": ["admin"]}})

    @app.delete("/orders/{id}")
    async def delete(id: int, claims: dict = Depends(admin)): ...

``require`` builds a second ``Verifier`` once, at setup, with the rules
added to every issuer's ``claims`` section; the core evaluates them on each
request. A failed rule is a 403 naming the claim; a bad or missing token a
401; unreachable keys a 503, each with ``WWW-Authenticate``.

(No ``from __future__ import annotations`` here: FastAPI reads the
annotations of ``__call__`` at run time, and on older versions it cannot
resolve string annotations of a callable instance.)
"""

from collections.abc import Mapping
from typing import Any, Optional

from fastapi import HTTPException, Request

from ._http import PolicyLike, as_verifier, has_remote_keys, rejection_detail
from ._jwtgate import JwtError, Verifier

__all__ = ["JwtAuth"]


class JwtAuth:
    """A ``Depends`` dependency returning the verified claims (a dict).

    The claims are also stored in ``request.state.auth``. ``offload``
    works as in ``jwtgate.asgi.JwtMiddleware``: by default, verification
    runs in the executor only when the policy fetches keys over the network.
    """

    def __init__(self, policy: PolicyLike, *, offload: Optional[bool] = None) -> None:
        self.verifier: Verifier = as_verifier(policy)
        self.offload = has_remote_keys(self.verifier) if offload is None else offload

    def require(self, claims: Mapping[str, Any]) -> "JwtAuth":
        """A dependency that also enforces these claim rules (DESIGN.md's
        ``claims`` schema), on top of the policy's own: routes can only
        narrow the policy. See ``Verifier.with_claims``."""
        return JwtAuth(self.verifier.with_claims(dict(claims)), offload=self.offload)

    async def __call__(self, request: Request) -> dict[str, Any]:
        scope = request.scope
        token = self.verifier.find_token(scope.get("headers") or [], scope.get("query_string") or None)
        error: Optional[JwtError] = None
        if token is not None:
            try:
                if self.offload:
                    verified = await self.verifier.verify_async(token)
                else:
                    verified = self.verifier.verify(token)
                claims: dict[str, Any] = verified.claims
            except JwtError as e:
                error = e
            else:
                request.state.auth = claims
                return claims
        status, challenge, detail = rejection_detail(error)
        raise HTTPException(status_code=status, detail=detail, headers={"WWW-Authenticate": challenge})
