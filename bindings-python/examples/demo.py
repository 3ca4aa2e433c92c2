"""Starts examples/app.py under uvicorn on 127.0.0.1, signs tokens with the
demo keys and shows how the service answers each one."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

import jwtgate

REPO = Path(__file__).resolve().parents[2]
KEYS = REPO / "demo" / "keys"
ORDERS = {"iss": "https://idp.demo.jwtgate/", "aud": "api://orders"}


def main() -> None:
    orders = jwtgate.Signer.from_pem("RS256", (KEYS / "orders-rs256.pem").read_text())
    partner = jwtgate.Signer.from_pem("ES256", (KEYS / "partner-es256.pem").read_text(), typ="at+jwt")
    now = time.time()
    cases = [
        ("GET", "a reader from the orders IdP", orders.sign({**ORDERS, "sub": "ada", "dept": "IT", "roles": ["orders:read"]}, 300)),
        ("POST", "the same reader tries to write (route rule: orders:write)", orders.sign({**ORDERS, "sub": "ada", "dept": "IT", "roles": ["orders:read"]}, 300)),
        ("POST", "a writer", orders.sign({**ORDERS, "sub": "grace", "dept": "IT", "roles": ["orders:read", "orders:write"]}, 300)),
        ("GET", "a partner access token (ES256, typ at+jwt)", partner.sign({"iss": "https://partner.demo.jwtgate/", "aud": "api://orders", "sub": "partner_bot", "scope": "orders:read"}, 300)),
        ("GET", "expired an hour ago", orders.sign({**ORDERS, "sub": "ada", "dept": "IT", "roles": ["orders:read"]}, 60, now=now - 3600)),
        ("GET", "dept HR (the policy wants IT)", orders.sign({**ORDERS, "sub": "bob", "dept": "HR", "roles": ["orders:read"]}, 300)),
        ("GET", "no token at all", None),
    ]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, JWTGATE_POLICY=str(REPO / "demo" / "policy.json"))
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app:app", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        cwd=Path(__file__).parent, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the demo server did not start")
            try:
                httpx.get(f"{base}/health", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.05)
        print(f"FastAPI with jwtgate at {base} (examples/app.py)")
        for method, label, token in cases:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            r = httpx.request(method, f"{base}/orders", headers=headers)
            challenge = r.headers.get("www-authenticate")
            print(f"\n-- {label}\n{method} /orders -> {r.status_code} {r.text}")
            if challenge:
                print(f"WWW-Authenticate: {challenge}")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
