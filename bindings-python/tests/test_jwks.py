"""Keys from a real JWKS endpoint on 127.0.0.1, through the module: the
first fetch, rotation to a new kid, the counters, and use after fork()."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from typing import Any

import pytest
from jwtgate_testsupport.servers import JwksServer

import jwtgate


def policy(server: JwksServer) -> dict[str, Any]:
    return {
        "issuers": [
            {
                "algorithms": ["ES256", "RS256"],
                "keys": {"jwks_uri": server.url, "allow_http": True, "timeout_ms": 2000, "refetch_cooldown_s": 0},
            }
        ]
    }


@pytest.fixture
def server() -> Iterator[JwksServer]:
    # Keep-alive, as IdPs answer: a client that pooled the connection
    # before fork() would share it with its children.
    with JwksServer(keep_alive=True) as s:
        yield s


def test_keys_from_a_real_endpoint(server: JwksServer) -> None:
    k1 = jwtgate.Signer.from_pem("ES256", jwtgate.generate_key("ES256")["private_key"], kid="k1")
    server.jwks = jwtgate.jwks([k1])
    verifier = jwtgate.Verifier(policy(server))
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
    verifier = jwtgate.Verifier(policy(server))
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


def _wait_all(pids: list[int], deadline_s: float = 30.0) -> list[int]:
    """Exit codes of `pids`; kills and fails on a child that hangs."""
    codes: dict[int, int] = {}
    deadline = time.monotonic() + deadline_s
    while len(codes) < len(pids):
        for pid in pids:
            if pid in codes:
                continue
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                codes[pid] = os.WEXITSTATUS(status) if os.WIFEXITED(status) else 100 + os.WTERMSIG(status)
        if time.monotonic() > deadline:
            for pid in pids:
                if pid not in codes:
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
            pytest.fail("a forked child hung")
        time.sleep(0.01)
    return [codes[pid] for pid in pids]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_children_forked_after_a_fetch_refetch_together_without_sharing_a_connection(server: JwksServer) -> None:
    # The parent fetched (and would have kept a pooled connection); then the
    # IdP rotates and several children refetch for the new kid at the same
    # moment. Each must get a whole answer of its own: none may read another
    # child's response from an inherited socket, and none may miss its wake-up.
    old = jwtgate.Signer.from_pem("ES256", jwtgate.generate_key("ES256")["private_key"], kid="old")
    server.jwks = jwtgate.jwks([old])
    verifier = jwtgate.Verifier(policy(server))
    assert verifier.verify(old.sign({"sub": "parent"})).claims["sub"] == "parent"
    for round_ in range(3):
        new = jwtgate.Signer.from_pem("ES256", jwtgate.generate_key("ES256")["private_key"], kid=f"new{round_}")
        server.jwks = jwtgate.jwks([old, new])
        token = new.sign({"sub": f"child{round_}"})
        gate_r, gate_w = os.pipe()
        pids = []
        for _ in range(6):
            pid = os.fork()
            if pid == 0:  # a child: wait for the start signal, then verify
                code = 1
                try:
                    os.read(gate_r, 1)
                    claims = verifier.verify(token).claims
                    code = 0 if claims["sub"] == f"child{round_}" else 2
                except jwtgate.JwtError as e:
                    code = 10 + min(e.status or 0, 500) // 100
                finally:
                    os._exit(code)
            pids.append(pid)
        os.close(gate_r)
        os.write(gate_w, b"x" * len(pids))  # all children start together
        os.close(gate_w)
        assert _wait_all(pids) == [0] * len(pids), f"round {round_}"
    # The parent never learnt the new keys itself, yet still works, and the
    # stats still report the key set.
    assert verifier.verify(old.sign({"sub": "parent"})).claims["sub"] == "parent"
    assert verifier.stats()["key_sets"][0]["last_error"] is None
