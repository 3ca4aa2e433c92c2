"""A token verifier for MCP servers built with the official MCP Python SDK
(``mcp`` on PyPI): the core decides, the SDK's bearer middleware applies.

    from mcp.server.mcpserver import MCPServer
    from jwtgate import Verifier
    from jwtgate.asgi import JwtMiddleware
    from jwtgate.mcp import JwtTokenVerifier, auth_settings

    verifier = Verifier("policy.json")   # with "resource": {"uri": "https://mcp.example.com/mcp"}
    server = MCPServer("orders", token_verifier=JwtTokenVerifier(verifier),
                       auth=auth_settings(verifier, required_scopes=["orders:read"]))
    # jwtgate answers /.well-known/oauth-protected-resource/mcp (RFC 9728)
    app = JwtMiddleware(server.streamable_http_app(), verifier, mode="off")

``JwtTokenVerifier.verify_token`` hands the token to ``Verifier.decide_async``
as an ``Authorization: Bearer`` request (on the executor, never on the event
loop), so everything the policy says holds: signature, claims, audience
against the resource (RFC 8707), the route's rules and scopes, and the
binding: a token bound to a DPoP key or a client certificate (``cnf``) is
refused, since the SDK's hook sees only the token and cannot check the
proof or the certificate. Where the policy requires DPoP or mTLS binding,
put ``jwtgate.asgi.JwtMiddleware`` in front of the MCP app instead, which
reads the whole request.

A rejected token is ``None`` (the SDK answers 401 with its challenge, which
names the metadata URL in ``resource_metadata``); keys or a replay store
that cannot be reached raise the core's error (the SDK answers 500, not a
401 that would send the client to authorize again for nothing). An accepted
token becomes the SDK's ``AccessToken``: ``client_id`` from ``client_id``,
else ``azp``, else ``sub``; ``scopes`` from ``scope`` (space-delimited) or
``scp``; ``expires_at`` from ``exp``; ``resource`` from ``aud`` (the entry
equal to the policy's resource where ``aud`` is a list); ``subject`` from
``sub``; ``claims`` all the verified claims. The SDK checks the scopes of
``AuthSettings.required_scopes`` (403 ``insufficient_scope``) and the
expiry.

This module imports the SDK: install ``mcp`` alongside jwtgate to use it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Optional

from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from pydantic import AnyHttpUrl

from . import _jwtgate
from ._http import PolicyLike, RouteLike, as_route, as_verifier
from ._jwtgate import Decision, JwtError, Verifier

__all__ = ["JwtTokenVerifier", "auth_settings", "access_token"]

#: What the adapter decides on top of the caller's route: the token as a
#: Bearer header (the SDK hands over nothing else), always required.
_BEARER = {"token_sources": [{"header": "Authorization", "scheme": "Bearer"}], "mode": "required"}


def _resource_uri(verifier: Verifier) -> Optional[str]:
    resource = verifier.policy.get("resource")
    return resource.get("uri") if isinstance(resource, dict) else None


def _scopes(claims: dict[str, Any]) -> list[str]:
    """RFC 9068 ``scope`` (space-delimited), else ``scp`` (a list or a string).
    Split on the space character only, as the core's scope checks split:
    a tab or a no-break space inside a scope string joins, never separates."""
    value = claims.get("scope")
    if value is None:
        value = claims.get("scp")
    if isinstance(value, str):
        return [word for word in value.split(" ") if word]
    if isinstance(value, list):
        return [s for s in value if isinstance(s, str)]
    return []


def _audience(claims: dict[str, Any], resource: Optional[str]) -> Optional[str]:
    aud = claims.get("aud")
    if isinstance(aud, str):
        return aud
    if isinstance(aud, list) and resource is not None:
        wanted = resource.rstrip("/")
        return next((a for a in aud if isinstance(a, str) and a.rstrip("/") == wanted), None)
    return None


def access_token(token: str, claims: dict[str, Any], resource: Optional[str] = None) -> AccessToken:
    """The SDK's ``AccessToken`` for verified ``claims`` (see the module docstring)."""
    client_id = next((v for v in (claims.get(k) for k in ("client_id", "azp", "sub")) if isinstance(v, str)), "")
    exp = claims.get("exp")
    sub = claims.get("sub")
    return AccessToken(
        token=token,
        client_id=client_id,
        scopes=_scopes(claims),
        expires_at=int(exp) if isinstance(exp, (int, float)) and not isinstance(exp, bool) else None,
        resource=_audience(claims, resource),
        subject=sub if isinstance(sub, str) else None,
        claims=claims,
    )


def _error(decision: Decision) -> JwtError:
    """The core's exception for a decision that is no answer about the token (5xx)."""
    kinds = [c for c in vars(_jwtgate).values() if isinstance(c, type) and issubclass(c, JwtError)]
    kind = next((c for c in kinds if getattr(c, "code", None) == decision.code), JwtError)
    return kind(decision.message or decision.code or "the token could not be checked")


class JwtTokenVerifier:
    """The MCP SDK's ``TokenVerifier`` (``async verify_token(token)``) over a
    jwtgate policy. ``policy`` is a ``Verifier`` or anything ``Verifier()``
    accepts; ``route`` (a ``Route`` or a route document: ``claims``,
    ``scopes``, ...) adds requirements, as in the middleware.
    """

    def __init__(self, policy: PolicyLike, *, route: RouteLike = None) -> None:
        self.verifier = as_verifier(policy)
        own = self.verifier.route(_BEARER)
        base = as_route(self.verifier, route)
        self.route = own if base is None else base.merge(own)
        self.resource = _resource_uri(self.verifier)

    async def verify_token(self, token: str) -> Optional[AccessToken]:
        decision: Decision = await self.verifier.decide_async(
            "POST", "/", [("Authorization", f"Bearer {token}")], route=self.route)
        if decision.status >= 500:
            raise _error(decision)
        claims = decision.claims
        if not decision.allow or claims is None:
            return None
        return access_token(token, claims, self.resource)


def auth_settings(
    policy: PolicyLike,
    *,
    required_scopes: Optional[Sequence[str]] = None,
    issuer_url: Optional[str] = None,
    **settings: Any,
) -> AuthSettings:
    """The SDK's ``AuthSettings`` from the policy's ``resource``:
    ``resource_server_url`` is ``resource.uri`` (so the SDK's challenges
    name the metadata URL jwtgate serves) and ``issuer_url`` the first of
    ``resource.authorization_servers``, else the first issuer (or
    ``issuer_url``). ``validate_token_resource`` is False: the policy
    checks the audience (issuers without ``audiences`` accept only tokens
    for the resource). Other ``AuthSettings`` fields pass through."""
    doc = as_verifier(policy).policy
    resource = doc.get("resource") or {}
    if not resource.get("uri"):
        raise ValueError('the policy has no "resource": {"uri": ...} for the MCP server to name')
    if issuer_url is None:
        servers = resource.get("authorization_servers") or [i["issuer"] for i in doc["issuers"] if i.get("issuer")]
        if not servers:
            raise ValueError("the policy names no authorization server: pass issuer_url")
        issuer_url = servers[0]
    settings.setdefault("validate_token_resource", False)
    return AuthSettings(
        issuer_url=AnyHttpUrl(issuer_url),
        resource_server_url=AnyHttpUrl(resource["uri"]),
        required_scopes=list(required_scopes) if required_scopes is not None else None,
        **settings,
    )
