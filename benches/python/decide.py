"""What a gateway decision costs in Python on top of a verification: the
same token through ``Verifier.verify`` and through ``Verifier.decide`` on a
typical ASGI request (8 headers as bytes), with and without a route, and a
second layer's ``decide_after``. Needs only jwtgate (the test virtualenv
will do):

    python benches/python/decide.py [--seconds 0.4] [--repeat 3]
"""

from __future__ import annotations

import argparse
import base64
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwtgate

# The repository's shared test support: the test keys.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "support" / "python"))
from jwtgate_testsupport.paths import key_text  # noqa: E402

ISS = "https://idp.example.com/"
AUD = "api://orders"


def ops_per_s(fn: Callable[[], Any], seconds: float) -> float:
    n, start = 0, time.perf_counter()
    while True:
        for _ in range(100):
            fn()
        n += 100
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return n / elapsed


def case(alg: str, cache: int) -> dict[str, Callable[[], Any]]:
    if alg == "HS256":
        secret = key_text("hs256.secret").strip()
        signer = jwtgate.Signer.from_secret("HS256", base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4)))
        keys: dict[str, Any] = {"hmac_secret": secret}
    else:
        signer = jwtgate.Signer.from_pem("RS256", key_text("rsa.pem"))
        keys = {"pem": key_text("rsa.pub.pem")}
    policy = {
        "issuers": [{"issuer": ISS, "audiences": [AUD], "algorithms": [alg], "keys": keys,
                     "forward": {"claims_to_headers": {"sub": "X-User"}}}],
        "cache": {"max_entries": cache},
    }
    verifier = jwtgate.Verifier(policy)
    token = signer.sign({"iss": ISS, "aud": AUD, "sub": "ada", "scope": "orders:read"}, lifetime_s=3600)
    headers = [
        (b"host", b"api.example.com"), (b"user-agent", b"bench/1.0"), (b"accept", b"application/json"),
        (b"accept-encoding", b"gzip"), (b"authorization", f"Bearer {token}".encode()),
        (b"cookie", b"theme=dark; session=abc"), (b"x-request-id", b"0123456789abcdef"), (b"x-user", b"mallory"),
    ]
    route = verifier.route({"scopes": ["orders:read"]})
    first = verifier.decide("GET", b"/orders?page=2", headers)
    assert first.allow, first.code
    return {
        "verify": lambda: verifier.verify(token),
        "decide": lambda: verifier.decide("GET", b"/orders?page=2", headers),
        "decide + route": lambda: verifier.decide("GET", b"/orders?page=2", headers, route=route),
        "decide_after": lambda: verifier.decide_after(first, "GET", b"/orders?page=2", headers, route),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=0.4)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"1-minute load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print("| alg | cache | verify | decide | decide + route | decide_after |")
    print("|---|---|---|---|---|---|")
    for alg in ("HS256", "RS256"):
        for cache in (0, 100_000):
            fns = case(alg, cache)
            best = dict.fromkeys(fns, 0.0)
            for _ in range(args.repeat):
                for name, fn in fns.items():
                    best[name] = max(best[name], ops_per_s(fn, args.seconds))
            cells = " | ".join(f"{best[n] / 1000:.1f}k" for n in fns)
            print(f"| {alg} | {'on' if cache else 'off'} | {cells} |", flush=True)


if __name__ == "__main__":
    main()
