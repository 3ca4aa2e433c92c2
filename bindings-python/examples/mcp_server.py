"""An MCP server (the official MCP Python SDK, ``mcp`` on PyPI) whose access
tokens jwtgate checks, on the policy's ``resource``:

    python examples/mcp_server.py policy.json [port]    # 127.0.0.1:8000 by default

The policy names the server as its protected resource, e.g.
``"resource": {"uri": "https://mcp.example.com/mcp", "scopes_supported": ["orders:read"]}``
(the public URL, behind the proxy that terminates TLS). jwtgate serves its
RFC 9728 metadata at ``/.well-known/oauth-protected-resource/mcp``, which the
SDK's clients discover from the 401 challenge. The SDK refuses requests
whose ``Host`` is not local (its DNS-rebinding protection): behind a proxy,
name the public host in ``streamable_http_app(transport_security=...)``.

- Bearer tokens: the SDK's bearer middleware asks ``JwtTokenVerifier`` (the
  core decides) and checks the scopes of ``auth_settings`` (403
  ``insufficient_scope``); jwtgate's middleware in mode ``off`` answers the
  metadata document and checks nothing else.
- DPoP or mTLS-bound tokens (an issuer with ``dpop`` or ``mtls_binding``):
  the SDK's hook sees only the token, not the proof or the certificate, so
  jwtgate's middleware decides the whole request in front of the MCP app,
  with the same scopes, and the SDK's own auth is off.
"""

from __future__ import annotations

import sys
from typing import Any

import uvicorn
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.mcpserver import Context, MCPServer
from starlette.types import ASGIApp

from jwtgate import Verifier
from jwtgate.asgi import JwtMiddleware
from jwtgate.mcp import JwtTokenVerifier, access_token, auth_settings

SCOPES = ["orders:read"]


def sender_constrained(verifier: Verifier) -> bool:
    """Whether an issuer accepts DPoP or certificate-bound tokens."""
    return any(i.get("dpop") or i.get("mtls_binding") for i in verifier.policy["issuers"])


def create_app(policy: Any) -> ASGIApp:
    verifier = Verifier(policy)
    front = sender_constrained(verifier)
    if front:
        server = MCPServer("orders")
    else:
        server = MCPServer("orders", token_verifier=JwtTokenVerifier(verifier),
                           auth=auth_settings(verifier, required_scopes=SCOPES))

    @server.tool()
    def whoami(ctx: Context) -> dict[str, Any]:
        """The caller as the server sees it: client, subject and scopes."""
        token = get_access_token()
        if token is None:  # jwtgate's middleware in front: the claims are in the request's state
            token = access_token("", ctx.request_context.request.state.auth, verifier.policy["resource"]["uri"])
        return {"client_id": token.client_id, "subject": token.subject, "scopes": token.scopes}

    @server.tool()
    def list_orders() -> list[dict[str, Any]]:
        """The caller's open orders."""
        return [{"id": 1, "item": "tea", "quantity": 2}]

    app = server.streamable_http_app(stateless_http=True, json_response=True)
    if front:
        return JwtMiddleware(app, verifier, route={"scopes": SCOPES})
    return JwtMiddleware(app, verifier, mode="off")


def main(argv: list[str]) -> None:
    if not 2 <= len(argv) <= 3:
        sys.exit("usage: mcp_server.py POLICY [PORT]")
    port = int(argv[2]) if len(argv) == 3 else 8000
    uvicorn.run(create_app(argv[1]), host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main(sys.argv)
