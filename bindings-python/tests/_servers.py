"""The policy and tokens both server tests use, and the HTTP checks they
share: each server must give the same answers."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable

import httpx
from _support import AUD, ISS
from jwtgate_testsupport.paths import key_text
from jwtgate_testsupport.ports import free_port
from jwtgate_testsupport.processes import stop_process

import jwtgate

DOWN_ISS = "https://down.test/"


def server_policy() -> dict[str, Any]:
    return {
        "issuers": [
            {
                "issuer": ISS,
                "audiences": [AUD],
                "algorithms": ["RS256"],
                "keys": {"pem": key_text("rsa.pub.pem")},
                "claims": {"dept": {"equals": "IT"}},
                "forward": {"claims_to_headers": {"sub": "X-User"}},
            },
            {
                # Keys that cannot be fetched: tokens from this issuer get 503.
                "issuer": DOWN_ISS,
                "algorithms": ["RS256"],
                "keys": {
                    "jwks_uri": f"http://127.0.0.1:{free_port()}/jwks.json",
                    "allow_http": True,
                    "initial_wait_ms": 300,
                    "timeout_ms": 300,
                },
            },
        ],
        "token_sources": [
            {"header": "Authorization", "scheme": "Bearer"},
            {"cookie": "access_token"},
            {"query": "access_token"},
        ],
    }


def token(signer: jwtgate.Signer, drop: tuple[str, ...] = (), **extra: Any) -> str:
    claims: dict[str, Any] = {"iss": ISS, "aud": AUD, "sub": "ada", "dept": "IT"}
    claims.update(extra)
    for name in drop:
        del claims[name]
    return signer.sign(claims, lifetime_s=None if "exp" in claims else 600)


def wait_until_up(base: str, deadline_s: float = 20.0, alive: Callable[[], bool] = lambda: True) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if not alive():
            raise RuntimeError("the server exited")
        try:
            if httpx.get(f"{base}/health", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError(f"{base} did not come up in {deadline_s}s")


@contextmanager
def uvicorn(app: str, env: Mapping[str, str], deadline_s: float = 20.0) -> Iterator[str]:
    """uvicorn serving `app` ("module:attribute" under tests/) in a
    subprocess on a free port; yields its base URL once /health answers."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        cwd=Path(__file__).parent,
        env=dict(env),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base, deadline_s=deadline_s, alive=lambda: proc.poll() is None)
        yield base
    finally:
        stop_process(proc)


@contextmanager
def werkzeug(app: Any) -> Iterator[str]:
    """The WSGI `app` under werkzeug in a thread on a free port; yields its
    base URL once /health answers."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        wait_until_up(base)
        yield base
    finally:
        server.shutdown()


def bearer(t: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {t}"}


def check_common(base: str, signer: jwtgate.Signer) -> None:
    """Accept, each reject, the three token sources, forwarded headers and
    the opt-out route, over real HTTP."""
    good = token(signer)
    with httpx.Client(base_url=base, timeout=10.0) as http:
        # opt-out route: no token needed
        assert http.get("/health").json() == {"status": "ok"}

        # accepted from the header; X-User forwarded, replacing a spoofed one
        r = http.get("/me", headers={**bearer(good), "X-User": "mallory"})
        assert r.status_code == 200, r.text
        assert r.json()["claims"]["sub"] == "ada" and r.json()["claims"]["dept"] == "IT"
        assert r.json()["x_user"] == "ada"

        # a spoofed forward header is dropped even when the token sets none
        no_sub = token(signer, drop=("sub",))
        r = http.get("/me", headers={**bearer(no_sub), "X-User": "mallory"})
        assert r.status_code == 200 and r.json()["x_user"] is None

        # cookie and query sources
        r = http.get("/me", headers={"Cookie": f"theme=dark; access_token={good}"})
        assert r.status_code == 200 and r.json()["claims"]["sub"] == "ada"
        r = http.get("/me", params={"access_token": good})
        assert r.status_code == 200 and r.json()["claims"]["sub"] == "ada"

        # no token: 401 with a bare challenge
        r = http.get("/me")
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        assert r.json()["error"] == "missing_token"

        def rejected(t: str, status: int, code: str, bearer_error: str = "invalid_token") -> None:
            r = http.get("/me", headers=bearer(t))
            assert r.status_code == status, (code, r.status_code, r.text)
            assert r.json()["error"] == code
            if status == 503:  # a server-side failure blames no token
                assert r.headers["www-authenticate"] == "Bearer"
                assert "127.0.0.1" not in r.text, r.text
            else:
                assert r.headers["www-authenticate"].startswith(f'Bearer error="{bearer_error}"')

        rejected("garbage", 401, "malformed")
        rejected(token(signer, exp=1_000_000_000), 401, "expired")
        rejected(token(signer, nbf=4_000_000_000), 401, "not_yet_valid")
        rejected(token(signer, aud="api://other"), 401, "audience")
        rejected(token(signer, iss="https://evil.test/"), 401, "issuer")
        head, payload, sig = good.split(".")
        rejected(f"{head}.{payload}.{sig[::-1]}", 401, "signature")
        rejected(token(signer, dept="HR"), 403, "claim", "insufficient_scope")
        assert http.get("/me", headers=bearer(token(signer, dept="HR"))).json()["claim"] == "dept"
        rejected(token(signer, iss=DOWN_ISS), 503, "jwks_unavailable")
