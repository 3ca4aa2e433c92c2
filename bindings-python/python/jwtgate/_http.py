"""Glue shared by the ASGI, FastAPI and WSGI integrations. Nothing here
decides: the token, the headers to remove and set, the mode, the rejection
status, challenge and body all come from ``Verifier.decide`` (the core)."""

from __future__ import annotations

import inspect
import ipaddress
import math
import ssl
from collections.abc import Iterable, Mapping
from typing import Any, Callable, Optional, Union

from ._jwtgate import Decision, Route, Verifier

PolicyLike = Union[Verifier, Mapping[str, Any], str, bytes]
RouteLike = Union[Route, Mapping[str, Any], None]
#: ``on_decision(decision, scope_or_environ)``: called for every decision
#: (report-only rollouts log ``decision.code`` here); may be a coroutine
#: function in ASGI.
OnDecision = Callable[[Decision, Any], Any]

#: ``now``: the instant to decide at, unix seconds, or a function returning
#: them per request; None (the default) is the system clock. For tests that
#: replay requests made at a known time (recorded DPoP proofs carry their
#: ``iat``).
Now = Union[int, float, Callable[[], float], None]

#: Where a middleware leaves its decision, and the request as it saw it, for
#: a later layer of the same request (``Verifier.decide_after``).
DECISION_KEY = "jwtgate.decision"
REQUEST_KEY = "jwtgate.request"
#: The verifier that made the stored decision: a layer with another
#: verifier (another policy) decides on its own.
VERIFIER_KEY = "jwtgate.verifier"


def as_verifier(policy: PolicyLike) -> Verifier:
    """A ``Verifier`` as given, or one built from a policy."""
    return policy if isinstance(policy, Verifier) else Verifier(policy)


def as_route(verifier: Verifier, route: RouteLike) -> Optional[Route]:
    """A ``Route`` as given, or one compiled from a route document."""
    if route is None or isinstance(route, Route):
        return route
    if not isinstance(route, Mapping):
        raise TypeError(f"route must be a Route or a route document (dict), not {type(route).__name__}")
    return verifier.route(dict(route))


def middleware_route(verifier: Verifier, route: RouteLike, exclude: Iterable[str], mode: Optional[str]) -> Route:
    """The route a middleware decides with: ``route``, then the ``exclude``
    and ``mode`` options on top (the core validates them)."""
    if isinstance(exclude, (str, bytes)):
        raise TypeError("exclude must be an iterable of path prefixes, not a single string")
    doc: dict[str, Any] = {}
    prefixes = list(exclude)
    if prefixes:
        doc["exclude"] = prefixes
    if mode is not None:
        doc["mode"] = mode
    base = as_route(verifier, route)
    if base is None:
        return verifier.route(doc)
    return base.merge(verifier.route(doc)) if doc else base


def clock_of(now: Now) -> Optional[Callable[[], float]]:
    """The ``now`` option as a function called per request (None: the
    system clock); a value that is no instant is refused at setup."""
    if now is None:
        return None
    if callable(now):
        return now
    if isinstance(now, (int, float)) and not isinstance(now, bool) and math.isfinite(now):
        fixed = float(now)
        return lambda: fixed
    raise TypeError(f"now must be unix seconds or a function returning them, not {now!r}")


def has_remote_keys(verifier: Verifier) -> bool:
    """Whether a decision may wait on the network (the core reads the policy):
    async integrations then decide in the executor."""
    return verifier.has_remote_keys


async def call_hook(hook: Optional[OnDecision], decision: Decision, where: Any) -> None:
    if hook is not None:
        result = hook(decision, where)
        if inspect.isawaitable(result):
            await result


def query_of(url: str) -> str:
    """The query part of a request target (empty when there is none)."""
    return url.partition("#")[0].partition("?")[2]


def client_cert_der(pem: Any) -> Optional[bytes]:
    """A PEM certificate as a server hands it over (the ASGI TLS
    extension's ``client_cert_chain[0]``, WSGI's ``SSL_CLIENT_CERT``) as
    DER, or None when there is none or it is no certificate (the binding
    check then finds no certificate)."""
    if not isinstance(pem, str) or "-----BEGIN CERTIFICATE-----" not in pem:
        return None
    try:
        return ssl.PEM_cert_to_DER_cert(pem.strip())
    except ValueError:
        return None


def peer_address(host: Any) -> Optional[str]:
    """The client's IP address as the server gives it, or None (a unix
    socket, a test client's name)."""
    if not isinstance(host, str) or not host:
        return None
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return None
    return host
