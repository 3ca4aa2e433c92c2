"""verify_async runs in the executor: the event loop keeps serving."""

from __future__ import annotations

import asyncio
import time

import pytest
from _support import NOW, claims, gateway_policy
from jwtgate_testsupport.servers import HangingIdP

import jwtgate


def test_verify_async_returns_the_result(rsa_signer: jwtgate.Signer) -> None:
    verifier = jwtgate.Verifier(gateway_policy())
    token = rsa_signer.sign(claims())

    async def main() -> None:
        verified = await verifier.verify_async(token, now=NOW)
        assert verified.claims["sub"] == "ada"
        many = await asyncio.gather(*(verifier.verify_async(token, now=NOW) for _ in range(20)))
        assert all(v.issuer == verified.issuer for v in many)
        with pytest.raises(jwtgate.ExpiredTokenError):
            await verifier.verify_async(token, now=NOW + 3600)
        with pytest.raises(TypeError):
            await verifier.verify_async(42)

    asyncio.run(main())


def test_verify_async_needs_a_running_loop(rsa_signer: jwtgate.Signer) -> None:
    verifier = jwtgate.Verifier(gateway_policy())
    with pytest.raises(RuntimeError):
        verifier.verify_async(rsa_signer.sign(claims()))


def test_the_event_loop_stays_responsive(rsa_signer: jwtgate.Signer) -> None:
    # A JWKS endpoint that accepts connections and never answers: each
    # verification blocks in Rust for initial_wait_ms before it fails.
    with HangingIdP() as idp:
        verifier = jwtgate.Verifier(
            {
                "issuers": [
                    {
                        "algorithms": ["RS256"],
                        "keys": {
                            "jwks_uri": idp.url,
                            "allow_http": True,
                            "initial_wait_ms": 600,
                            "timeout_ms": 600,
                        },
                    }
                ]
            }
        )
        token = rsa_signer.sign(claims())

        async def main() -> tuple[float, float, int]:
            gaps: list[float] = []
            stop = asyncio.Event()

            async def ticker() -> None:
                last = time.perf_counter()
                while not stop.is_set():
                    await asyncio.sleep(0.005)
                    now = time.perf_counter()
                    gaps.append(now - last)
                    last = now

            tick = asyncio.create_task(ticker())
            began = time.perf_counter()
            with pytest.raises(jwtgate.JwksUnavailableError):
                await verifier.verify_async(token)
            waited = time.perf_counter() - began
            stop.set()
            await tick
            return waited, max(gaps), len(gaps)

        waited, worst_gap, ticks = asyncio.run(main())
    assert waited >= 0.3, f"the verification should have waited for the JWKS ({waited:.3f}s)"
    assert ticks >= 20, f"the loop ticked {ticks} times in {waited:.3f}s"
    assert worst_gap < 0.2, f"the loop stalled for {worst_gap:.3f}s"
