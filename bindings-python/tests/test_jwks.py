"""Keys from a real JWKS endpoint on 127.0.0.1, through the module: the
first fetch, rotation to a new kid, the counters, and use after fork()."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

import jwtgate


class JwksServer:
    def __init__(self) -> None:
        self.jwks: dict[str, Any] = {"keys": []}
        self.hits = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                owner.hits += 1
                body = json.dumps(owner.jwks).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/jwks.json"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def policy(self) -> dict[str, Any]:
        return {
            "issuers": [
                {
                    "algorithms": ["ES256", "RS256"],
                    "keys": {"jwks_uri": self.url, "allow_http": True, "timeout_ms": 2000,
                             "refetch_cooldown_s": 0},
                }
            ]
        }


@pytest.fixture
def server() -> Iterator[JwksServer]:
    s = JwksServer()
    s.thread.start()
    try:
        yield s
    finally:
        s.httpd.shutdown()
        s.httpd.server_close()
        s.thread.join(timeout=10)


def test_keys_from_a_real_endpoint(server: JwksServer) -> None:
    k1 = jwtgate.Signer.from_pem("ES256", jwtgate.generate_key("ES256")["private_key"], kid="k1")
    server.jwks = jwtgate.jwks([k1])
    verifier = jwtgate.Verifier(server.policy())
    assert verifier.verify(k1.sign({"sub": "ada"})).claims == {"sub": "ada"}
    stats = verifier.stats()
    [key_set] = stats["key_sets"]
    assert key_set["url"] == server.url and key_set["kids"] == ["k1"] and key_set["fetches"] == 1

    # rotation: a token with a new kid makes the verifier refetch
    k2 = jwtgate.Signer.from_pem("RS256", jwtgate.generate_key("RS256")["private_key"], kid="k2")
    server.jwks = jwtgate.jwks([k1, k2])
    assert verifier.verify(k2.sign({"sub": "bob"})).claims == {"sub": "bob"}
    assert sorted(verifier.stats()["key_sets"][0]["kids"]) == ["k1", "k2"]
    # a kid nobody publishes
    k3 = jwtgate.Signer.from_pem("ES256", jwtgate.generate_key("ES256")["private_key"], kid="k3")
    with pytest.raises(jwtgate.KeyNotFoundError):
        verifier.verify(k3.sign({"sub": "eve"}))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_a_verifier_works_in_a_forked_child(server: JwksServer) -> None:
    # Gunicorn --preload builds the app (and its Verifier) before forking
    # workers; the child must still fetch keys and verify.
    signer = jwtgate.Signer.from_pem("ES256", jwtgate.generate_key("ES256")["private_key"], kid="k1")
    server.jwks = jwtgate.jwks([signer])
    verifier = jwtgate.Verifier(server.policy())
    token = signer.sign({"sub": "ada"})
    pid = os.fork()
    if pid == 0:  # the child: report through the exit code only
        code = 1
        try:
            code = 0 if verifier.verify(token).claims == {"sub": "ada"} else 2
        finally:
            os._exit(code)
    deadline = time.monotonic() + 20
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("the forked child hung verifying")
        time.sleep(0.02)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    # and the parent still works after the child did the fetch
    assert verifier.verify(token).claims == {"sub": "ada"}
