"""WSGI middleware (Flask and any WSGI app).

    app.wsgi_app = JwtMiddleware(app.wsgi_app, policy, exclude=["/health"])

For every request the middleware asks the core for a decision
(``Verifier.decide``) and applies it as it is: every header named in
``decision.remove_headers`` leaves the environ (on every path, excluded ones
included); an allowed request gets ``decision.set_headers`` as ``HTTP_*``
variables, its query string replaced when ``decision.upstream_url`` cuts a
query-string token, the claims in ``environ["jwtgate.claims"]`` (None
without identity) and the ``Verified`` result in
``environ["jwtgate.verified"]``; a rejected one is answered with
``decision.status``, ``decision.response_headers`` and ``decision.body``.

Options map onto a route document as in ``jwtgate.asgi``: ``route``,
``exclude``, ``mode``, ``on_decision(decision, environ)``, ``now``. A middleware
inside another one checks only its own route on the token the outer one
verified (``Verifier.decide_after``).

WSGI servers join repeated request headers with commas before the app sees
them, so two ``Authorization`` headers reach the core as one value.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Optional
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
    clock_of,
    middleware_route,
    client_cert_der,
    peer_address,
    query_of,
)
from ._jwtgate import Decision

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["JwtMiddleware"]

_UNPREFIXED = {"CONTENT_TYPE": "Content-Type", "CONTENT_LENGTH": "Content-Length"}


def _environ_key(header: str) -> str:
    key = header.upper().replace("-", "_")
    return key if key in _UNPREFIXED else "HTTP_" + key


def _headers(environ: WSGIEnvironment) -> list[tuple[str, str]]:
    out = [(key[5:].replace("_", "-"), value) for key, value in environ.items() if key.startswith("HTTP_")]
    out.extend((name, environ[key]) for key, name in _UNPREFIXED.items() if environ.get(key))
    return out


def _target(environ: WSGIEnvironment) -> str:
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        return str(raw)
    # PEP 3333: PATH_INFO holds the decoded path as latin-1 code points.
    path = quote(environ.get("PATH_INFO", "").encode("latin-1"), safe="/!$&'()*+,;=:@~")
    query = environ.get("QUERY_STRING", "")
    return f"{path or '/'}?{query}" if query else path or "/"


class JwtMiddleware:
    """Applies the core's decision to every request; see the module docstring.

    ``policy`` is a ``Verifier`` or anything ``Verifier()`` accepts.
    """

    def __init__(
        self,
        app: WSGIApplication,
        policy: PolicyLike,
        *,
        route: RouteLike = None,
        exclude: Iterable[str] = (),
        mode: Optional[str] = None,
        on_decision: Optional[OnDecision] = None,
        now: Now = None,
    ) -> None:
        self.app = app
        self.verifier = as_verifier(policy)
        self.route = middleware_route(self.verifier, route, exclude, mode)
        self.on_decision = on_decision
        self.clock = clock_of(now)

    def decide(self, environ: WSGIEnvironment) -> Decision:
        """The decision for a request (after an outer layer's, only this
        middleware's route is checked)."""
        now = None if self.clock is None else self.clock()
        previous = environ.get(DECISION_KEY)
        if previous is not None and environ.get(VERIFIER_KEY) is self.verifier:
            method, url, headers = environ[REQUEST_KEY]
            after: Decision = self.verifier.decide_after(previous, method, url, headers, self.route, now)
            return after
        method = environ.get("REQUEST_METHOD", "GET")
        url = _target(environ)
        headers = _headers(environ)
        environ[REQUEST_KEY] = (method, url, headers)
        environ[VERIFIER_KEY] = self.verifier
        # SSL_CLIENT_CERT: the client's certificate where the server
        # terminates TLS and exports it (Apache mod_ssl's ExportCertData).
        cert = client_cert_der(environ.get("SSL_CLIENT_CERT")) if self.verifier.reads_client_cert else None
        return self.verifier.decide(method, url, headers, now=now, route=self.route,
                                    peer=peer_address(environ.get("REMOTE_ADDR")), client_cert=cert)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        decision = self.decide(environ)
        if self.on_decision is not None:
            result = self.on_decision(decision, environ)
            if inspect.isawaitable(result):
                raise TypeError("on_decision must not be a coroutine function in WSGI")
        if not decision.allow:
            body = decision.body or b""
            headers = [*decision.response_headers, ("Content-Length", str(len(body)))]
            start_response(f"{decision.status} {HTTPStatus(decision.status).phrase}", headers)
            return [body]
        apply_to_environ(decision, environ)
        return self.app(environ, start_response)


def apply_to_environ(decision: Decision, environ: Any) -> None:
    """Applies an allowing decision to a WSGI environ."""
    for name in decision.remove_headers:
        environ.pop(_environ_key(name), None)
    for name, value in decision.set_headers:
        environ[_environ_key(name)] = value  # printable ASCII: the same in latin-1
    if decision.upstream_url is not None:
        query = query_of(decision.upstream_url)
        environ["QUERY_STRING"] = query
        for key in ("RAW_URI", "REQUEST_URI"):
            if key in environ:
                path = str(environ[key]).partition("?")[0]
                environ[key] = f"{path}?{query}" if query else path
    claims = decision.claims
    if claims is not None or "jwtgate.claims" not in environ:
        environ["jwtgate.claims"] = claims
    verified = decision.verified
    if verified is not None or "jwtgate.verified" not in environ:
        environ["jwtgate.verified"] = verified
    environ[DECISION_KEY] = decision
