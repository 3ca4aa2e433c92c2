"""The GIL is released while verifying: threads verify in parallel."""

from __future__ import annotations

import base64
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from _support import AUD, ISS, NOW, claims, gateway_policy
from test_jwks import JwksServer, server  # noqa: F401 (server is a fixture)

import jwtgate


def uncached_verifier() -> jwtgate.Verifier:
    # No cache: every call pays the RSA public-key operation.
    return jwtgate.Verifier(dict(gateway_policy(), cache={"max_entries": 0}))


def test_eight_threads_get_the_right_answers(rsa_signer: jwtgate.Signer) -> None:
    verifier = uncached_verifier()
    tokens = [rsa_signer.sign(claims(n=i)) for i in range(64)]
    bad = [t[:-4] + ("AAAA" if not t.endswith("AAAA") else "BBBB") for t in tokens]

    def work(i: int) -> None:
        for _ in range(20):
            assert verifier.verify(tokens[i], now=NOW).claims["n"] == i
            try:
                verifier.verify(bad[i], now=NOW)
            except jwtgate.InvalidSignatureError:
                pass
            else:
                raise AssertionError("a tampered token verified")

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(work, range(64)))


def throughput(verifier: jwtgate.Verifier, token: str, threads: int, seconds: float) -> float:
    """Verifications per second over all threads."""
    counts = [0] * threads
    start = threading.Barrier(threads + 1)
    stop = time.perf_counter() + seconds + 0.05

    def run(slot: int) -> None:
        start.wait()
        n = 0
        while time.perf_counter() < stop:
            for _ in range(50):
                verifier.verify(token, now=NOW)
            n += 50
        counts[slot] = n

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    began = time.perf_counter()
    start.wait()
    for w in workers:
        w.join()
    return sum(counts) / (time.perf_counter() - began)


def test_two_threads_verify_rs256_faster_than_one(rsa_signer: jwtgate.Signer) -> None:
    assert (os.cpu_count() or 1) >= 2, "needs two cores"
    verifier = uncached_verifier()
    token = rsa_signer.sign(claims())
    ratios: list[float] = []
    # Other processes may share the cores; they can only lower the ratio,
    # so the best of a few short runs is the fair figure.
    for _ in range(5):
        one = throughput(verifier, token, 1, 0.5)
        two = throughput(verifier, token, 2, 0.5)
        ratios.append(two / one)
        if ratios[-1] > 1.3:
            break
    best = max(ratios)
    print(f"RS256 2 threads / 1 thread: {best:.2f}x (runs: {', '.join(f'{r:.2f}' for r in ratios)})")
    if best <= 1.3 and os.getloadavg()[0] > 1.5:
        # The deterministic check below still proves the GIL is released.
        pytest.skip(f"machine busy (load {os.getloadavg()[0]:.1f}): 2 threads ran {best:.2f}x one")
    assert best > 1.3, f"2 threads / 1 thread = {ratios}: is the GIL released?"


def test_python_runs_while_a_batch_verifies(rsa_signer: jwtgate.Signer) -> None:
    """Load-independent proof that the GIL is released: while one thread is
    inside verify_many, the main thread keeps executing Python code. With
    the GIL held it would not run at all until the batch returned."""
    verifier = uncached_verifier()
    tokens = [rsa_signer.sign(claims())] * 6000

    def count_for(seconds: float) -> int:
        n, end = 0, time.perf_counter() + seconds
        while time.perf_counter() < end:
            n += 1
        return n

    solo_rate = count_for(0.1) / 0.1
    done = threading.Event()
    batch = threading.Thread(target=lambda: (verifier.verify_many(tokens, now=NOW), done.set()))
    batch.start()
    time.sleep(0.005)  # let the batch thread enter verify_many
    began, counted = time.perf_counter(), 0
    while not done.is_set():
        counted += 1
        time.perf_counter()
    elapsed = time.perf_counter() - began
    batch.join()
    assert elapsed > 0.05, "the batch finished too fast to measure; use more tokens"
    share = counted / (solo_rate * elapsed)
    print(f"main thread ran at {share:.0%} of its solo speed during verify_many ({elapsed:.2f}s)")
    assert share > 0.1, f"the main thread ran at {share:.1%} of its speed: the GIL was held"


def test_an_hmac_token_whose_keys_must_be_fetched_releases_the_gil(server: JwksServer) -> None:
    """An HMAC check keeps the GIL, but not when its key comes from a JWKS
    endpoint: here the endpoint is a thread of this process, so the fetch
    can only be answered if the GIL is released while it waits."""
    secret = bytes(range(32))
    k = base64.urlsafe_b64encode(secret).rstrip(b"=").decode()
    server.jwks = {"keys": [{"kty": "oct", "kid": "h1", "alg": "HS256", "k": k}]}
    verifier = jwtgate.Verifier({"issuers": [{"issuer": ISS, "audiences": [AUD], "algorithms": ["HS256"], "keys": {
        "jwks_uri": server.url, "allow_http": True, "timeout_ms": 3000}}]})
    token = jwtgate.Signer.from_secret("HS256", secret, kid="h1").sign(claims())
    assert verifier.verify(token, now=NOW).claims["sub"] == claims()["sub"]
    assert server.hits == 1
