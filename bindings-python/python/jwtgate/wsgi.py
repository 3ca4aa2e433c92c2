"""WSGI middleware (Flask and any WSGI app).

    app.wsgi_app = JwtMiddleware(app.wsgi_app, policy, exclude=["/health"])

Every request outside the excluded path prefixes must carry a token where
the policy's ``token_sources`` say (header, cookie or query, looked up by
the core). A verified request reaches the app with the claims in
``environ["jwtgate.claims"]``, the ``Verified`` result in
``environ["jwtgate.verified"]`` and the policy's forward headers set as
``HTTP_*`` variables, replacing any the client sent. A rejected one gets
401, 403 or 503 with ``WWW-Authenticate`` and a JSON body.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ._http import REASONS, PolicyLike, as_verifier, forward_header_names, is_excluded, normalize_prefixes, rejection
from ._jwtgate import JwtError, Verified

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["JwtMiddleware"]


def _environ_key(header: str) -> str:
    return "HTTP_" + header.upper().replace("-", "_")


class JwtMiddleware:
    """Rejects requests without a valid token; see the module docstring.

    ``policy`` is a ``Verifier`` or anything ``Verifier()`` accepts;
    ``exclude`` lists path prefixes that skip authentication.
    """

    def __init__(
        self,
        app: WSGIApplication,
        policy: PolicyLike,
        *,
        exclude: Iterable[str] = (),
        forward_headers: bool = True,
    ) -> None:
        self.app = app
        self.verifier = as_verifier(policy)
        self.exclude = normalize_prefixes(exclude)
        self.forward_headers = forward_headers
        self._forwarded = tuple(_environ_key(n) for n in forward_header_names(self.verifier))

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if is_excluded(environ.get("PATH_INFO", ""), self.exclude):
            return self.app(environ, start_response)
        headers = {key[5:].replace("_", "-"): value for key, value in environ.items() if key.startswith("HTTP_")}
        token = self.verifier.find_token(headers, environ.get("QUERY_STRING") or None)
        error: JwtError | None = None
        verified: Verified | None = None
        if token is not None:
            try:
                verified = self.verifier.verify(token)
            except JwtError as e:
                error = e
        if verified is None:
            status, challenge, body = rejection(error)
            start_response(
                f"{status} {REASONS.get(status, 'Error')}",
                [
                    ("Content-Type", "application/json"),
                    ("Content-Length", str(len(body))),
                    ("WWW-Authenticate", challenge),
                ],
            )
            return [body]
        environ["jwtgate.claims"] = verified.claims
        environ["jwtgate.verified"] = verified
        if self.forward_headers:
            for key in self._forwarded:
                environ.pop(key, None)
            for name, value in verified.headers.items():
                # PEP 3333: header values are str holding latin-1 code points.
                environ[_environ_key(name)] = value.encode().decode("latin-1")
        return self.app(environ, start_response)

