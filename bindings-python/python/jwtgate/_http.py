"""Pieces shared by the ASGI, FastAPI and WSGI integrations: no token logic
lives here (finding and verifying tokens is the core's job)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, Union

from ._jwtgate import JwtError, Verifier

PolicyLike = Union[Verifier, Mapping[str, Any], str, bytes]

#: ``WWW-Authenticate`` for a request that carries no token at all
#: (RFC 6750 section 3.1: no error code in that case).
MISSING_TOKEN_CHALLENGE = "Bearer"

REASONS = {401: "Unauthorized", 403: "Forbidden", 500: "Internal Server Error", 503: "Service Unavailable"}


def as_verifier(policy: PolicyLike) -> Verifier:
    """A ``Verifier`` as given, or one built from a policy."""
    return policy if isinstance(policy, Verifier) else Verifier(policy)


def normalize_prefixes(exclude: Iterable[str]) -> tuple[str, ...]:
    """Path prefixes that skip authentication, validated once at setup."""
    if isinstance(exclude, (str, bytes)):
        raise TypeError("exclude must be an iterable of path prefixes, not a single string")
    prefixes = tuple(exclude)
    for prefix in prefixes:
        if not isinstance(prefix, str) or not prefix.startswith("/"):
            raise ValueError(f"exclude: {prefix!r} is not a path prefix starting with '/'")
    return prefixes


def is_excluded(path: str, prefixes: tuple[str, ...]) -> bool:
    """Whether ``path`` is under one of ``prefixes``, segment-wise: ``/health``
    covers ``/health`` and ``/health/live`` but not ``/healthz``."""
    for prefix in prefixes:
        if path == prefix or path.startswith(prefix if prefix.endswith("/") else prefix + "/"):
            return True
    return False


def rejection_detail(error: JwtError | None) -> tuple[int, str, dict[str, Any]]:
    """Status, ``WWW-Authenticate`` value and JSON-ready body for a rejected
    request (``None``: no token was found)."""
    if error is None:
        return 401, MISSING_TOKEN_CHALLENGE, {"error": "missing_token", "message": "no token in the request"}
    body: dict[str, Any] = {"error": error.code, "message": error.message}
    if error.claim is not None:
        body["claim"] = error.claim
    return error.status or 500, error.www_authenticate, body


def rejection(error: JwtError | None) -> tuple[int, str, bytes]:
    """As ``rejection_detail``, with the body encoded as JSON."""
    status, challenge, body = rejection_detail(error)
    return status, challenge, json.dumps(body).encode()

def forward_header_names(verifier: Verifier) -> frozenset[str]:
    """Lower-cased names of every header the policy may forward. The
    middleware strips these from each request it passes on, so a client
    cannot spoof one that the token does not set."""
    names: set[str] = set()
    for issuer in verifier.policy.get("issuers", []):
        forward = issuer.get("forward") or {}
        names.update(name.lower() for name in (forward.get("claims_to_headers") or {}).values())
        if forward.get("payload_header"):
            names.add(forward["payload_header"].lower())
    return frozenset(names)


def has_remote_keys(verifier: Verifier) -> bool:
    """Whether a verification may wait on the network (``jwks_uri``,
    ``discovery`` or allow-listed ``jku``): the first fetch, or a refetch
    for an unknown ``kid``, blocks the calling thread for up to the fetch
    timeout, so async integrations then verify in the executor."""
    for issuer in verifier.policy.get("issuers", []):
        keys = issuer.get("keys") or {}
        if keys.get("jwks_uri") or keys.get("discovery") or issuer.get("allowed_jku"):
            return True
    return False
