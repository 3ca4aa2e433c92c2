"""Side-by-side verification benchmark: jwtgate against PyJWT, jwcrypto and
joserfc, with cryptography's raw signature check as the floor.

Every library verifies the same tokens in the same run and checks the
signature, iss, aud and exp. Usage (see run.sh, which sets everything up):

    python bench.py [--seconds 0.4] [--repeat 3] [--e2e] [--out RESULTS.md]
    python bench.py --binding-cost [--seconds 0.3] [--repeat 7] [--algs RS256,HS256] [--callgrind]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt as pyjwt
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from joserfc import jwt as jose_jwt
from joserfc.jwk import ECKey, OctKey, OKPKey, RSAKey
from joserfc.jwt import JWTClaimsRegistry
from jwcrypto import jwk as jwc_jwk
from jwcrypto import jwt as jwc_jwt

import jwtgate

# The repository's shared test support: keys and ports.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "support" / "python"))
from jwtgate_testsupport.paths import key_text  # noqa: E402
from jwtgate_testsupport.ports import free_port  # noqa: E402

ISS = "https://idp.example.com/"
AUD = "api://orders"
ALGS = ["RS256", "PS256", "ES256", "EdDSA", "HS256"]
KEY_FILES = {"RS256": "rsa", "PS256": "rsa", "ES256": "ecp256", "EdDSA": "ed25519"}


def b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def ops_per_s(fn: Callable[[], Any], seconds: float, repeat: int) -> float:
    """Best of `repeat` runs of about `seconds` each, in calls per second."""
    for _ in range(20):
        fn()
    best = 0.0
    for _ in range(repeat):
        n, start = 0, time.perf_counter()
        end = start + seconds
        while True:
            for _ in range(20):
                fn()
            n += 20
            now = time.perf_counter()
            if now >= end:
                break
        best = max(best, n / (now - start))
    return best


def threaded_ops_per_s(fn: Callable[[], Any], threads: int, seconds: float, repeat: int) -> float:
    """Best of `repeat` runs: total calls per second over `threads` threads."""
    best = 0.0
    for _ in range(repeat):
        counts = [0] * threads
        barrier = threading.Barrier(threads + 1)
        end_box: list[float] = []

        def run(slot: int) -> None:
            barrier.wait()
            end = end_box[0]
            n = 0
            while time.perf_counter() < end:
                for _ in range(20):
                    fn()
                n += 20
            counts[slot] = n

        workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
        for w in workers:
            w.start()
        start = time.perf_counter()
        end_box.append(start + seconds)
        barrier.wait()
        for w in workers:
            w.join()
        best = max(best, sum(counts) / (time.perf_counter() - start))
    return best


class Case:
    """One algorithm: its key in every library's form and a signed token."""

    def __init__(self, alg: str) -> None:
        self.alg = alg
        now = int(time.time())
        claims = {"iss": ISS, "aud": AUD, "sub": "ada_lovelace", "iat": now, "exp": now + 3600,
                  "scope": "orders:read orders:write", "roles": ["admin", "dev"]}
        if alg == "HS256":
            secret_text = key_text("hs256.secret").strip()
            self.secret = b64d(secret_text)
            self.signer = jwtgate.Signer.from_secret(alg, self.secret)
            keys: dict[str, Any] = {"hmac_secret": secret_text}
        else:
            name = KEY_FILES[alg]
            self.private_pem = key_text(f"{name}.pem")
            self.public_pem = key_text(f"{name}.pub.pem")
            self.signer = jwtgate.Signer.from_pem(alg, self.private_pem)
            keys = {"pem": self.public_pem}
        self.token = self.signer.sign(claims)
        policy = {"issuers": [{"issuer": ISS, "audiences": [AUD], "algorithms": [alg], "keys": keys,
                               "require": ["exp"]}]}
        self.jwtgate = jwtgate.Verifier(dict(policy, cache={"max_entries": 0}))
        self.jwtgate_cached = jwtgate.Verifier(policy)

        # PyJWT: a parsed key object, so no PEM parsing per call.
        if alg == "HS256":
            self.pyjwt_key: Any = self.secret
        else:
            self.pyjwt_key = serialization.load_pem_public_key(self.public_pem.encode())

        # jwcrypto
        if alg == "HS256":
            self.jwc_key = jwc_jwk.JWK(kty="oct", k=secret_text)
        else:
            self.jwc_key = jwc_jwk.JWK.from_pem(self.public_pem.encode())

        # joserfc
        if alg == "HS256":
            self.jose_key: Any = OctKey.import_key(self.secret)
        elif alg == "ES256":
            self.jose_key = ECKey.import_key(self.public_pem)
        elif alg == "EdDSA":
            self.jose_key = OKPKey.import_key(self.public_pem)
        else:
            self.jose_key = RSAKey.import_key(self.public_pem)
        self.jose_claims = JWTClaimsRegistry(
            iss={"essential": True, "value": ISS}, aud={"essential": True, "value": AUD}, exp={"essential": True}
        )

        # cryptography: the signature operation alone (split, decoded and
        # converted outside the timed call).
        head, payload, sig = self.token.split(".")
        self.signing_input = f"{head}.{payload}".encode()
        self.signature = b64d(sig)
        if alg == "ES256":
            r = int.from_bytes(self.signature[:32], "big")
            s = int.from_bytes(self.signature[32:], "big")
            self.der_signature = encode_dss_signature(r, s)

    # -- one verification per library; each returns the claims -----------

    def run_jwtgate(self) -> Any:
        return self.jwtgate.verify(self.token).claims

    def run_jwtgate_cached(self) -> Any:
        return self.jwtgate_cached.verify(self.token).claims

    def run_pyjwt(self) -> Any:
        return pyjwt.decode(self.token, self.pyjwt_key, algorithms=[self.alg], audience=AUD, issuer=ISS,
                            options={"require": ["exp", "iss", "aud"]})

    def run_jwcrypto(self) -> Any:
        t = jwc_jwt.JWT(jwt=self.token, key=self.jwc_key, algs=[self.alg],
                        check_claims={"iss": ISS, "aud": AUD, "exp": None})
        return json.loads(t.claims)

    def run_joserfc(self) -> Any:
        t = jose_jwt.decode(self.token, self.jose_key, algorithms=[self.alg])
        self.jose_claims.validate(t.claims)
        return t.claims

    def run_floor(self) -> Any:
        alg, key = self.alg, self.pyjwt_key
        if alg == "RS256":
            key.verify(self.signature, self.signing_input, padding.PKCS1v15(), hashes.SHA256())
        elif alg == "PS256":
            key.verify(self.signature, self.signing_input,
                       padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256())
        elif alg == "ES256":
            key.verify(self.der_signature, self.signing_input, ec.ECDSA(hashes.SHA256()))
        elif alg == "EdDSA":
            key.verify(self.signature, self.signing_input)
        else:
            expected = hmac.new(self.secret, self.signing_input, hashlib.sha256).digest()
            if not hmac.compare_digest(expected, self.signature):
                raise ValueError("bad signature")
        return None

    def check(self) -> None:
        """Every library accepts the token and rejects a tampered one."""
        want = self.run_jwtgate()
        for fn in (self.run_jwtgate_cached, self.run_pyjwt, self.run_jwcrypto, self.run_joserfc):
            assert fn() == want, fn.__name__
        self.run_floor()
        good = self.token
        head, payload, sig = good.split(".")
        self.token = f"{head}.{payload}.{sig[:-6]}{'AAAAAA' if not sig.endswith('AAAAAA') else 'BBBBBB'}"
        try:
            for fn in (self.run_jwtgate, self.run_pyjwt, self.run_jwcrypto, self.run_joserfc):
                try:
                    fn()
                except Exception:
                    continue
                raise AssertionError(f"{fn.__name__} accepted a tampered {self.alg} token")
        finally:
            self.token = good


def bench_alg(alg: str, seconds: float, repeat: int) -> dict[str, float]:
    """Every figure for one algorithm. The runs are interleaved (one run of
    each figure per round, best of the rounds kept), so a change in machine
    load during the benchmark hits every library alike."""
    case = Case(alg)
    case.check()
    batch = [case.token] * 100
    single: dict[str, Callable[[], Any]] = {
        "floor": case.run_floor,
        "jwtgate": case.run_jwtgate,
        "jwtgate_many": lambda: case.jwtgate.verify_many(batch),
        "jwtgate_hit": case.run_jwtgate_cached,
        "pyjwt": case.run_pyjwt,
        "jwcrypto": case.run_jwcrypto,
        "joserfc": case.run_joserfc,
    }
    threaded: dict[str, Callable[[], Any]] = {"jwtgate_2t": case.run_jwtgate, "pyjwt_2t": case.run_pyjwt}
    r: dict[str, float] = dict.fromkeys([*single, *threaded], 0.0)
    for _ in range(repeat):
        for name, fn in single.items():
            r[name] = max(r[name], ops_per_s(fn, seconds, 1))
        for name, fn in threaded.items():
            r[name] = max(r[name], threaded_ops_per_s(fn, 2, seconds, 1))
    r["jwtgate_many"] *= 100
    order = ["floor", "jwtgate", "jwtgate_many", "jwtgate_2t", "jwtgate_hit", "pyjwt", "pyjwt_2t", "jwcrypto", "joserfc"]
    return {name: r[name] for name in order}


def fmt(x: float) -> str:
    return f"{x / 1000:.1f}k" if x < 1e6 else f"{x / 1e6:.2f}M"


# -- end to end: a FastAPI route behind the dependency, under wrk ----------

E2E_APP = '''
import os, jwt
from fastapi import Depends, FastAPI, HTTPException, Request
from cryptography.hazmat.primitives import serialization
from jwtgate import Verifier
from jwtgate.fastapi import JwtAuth

policy = os.environ["BENCH_POLICY"]
auth = JwtAuth(Verifier(policy))
import json
doc = json.loads(policy)["issuers"][0]
key = serialization.load_pem_public_key(doc["keys"]["pem"].encode())
app = FastAPI()

async def pyjwt_auth(request: Request) -> dict:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer "):
        raise HTTPException(401, headers={"WWW-Authenticate": "Bearer"})
    try:
        return jwt.decode(header[7:], key, algorithms=doc["algorithms"], audience=doc["audiences"][0],
                          issuer=doc["issuer"], options={"require": ["exp", "iss", "aud"]})
    except jwt.PyJWTError as e:
        raise HTTPException(401, headers={"WWW-Authenticate": "Bearer"}) from e

@app.get("/jwtgate")
async def with_jwtgate(claims: dict = Depends(auth)) -> dict:
    return {"sub": claims["sub"]}

@app.get("/pyjwt")
async def with_pyjwt(claims: dict = Depends(pyjwt_auth)) -> dict:
    return {"sub": claims["sub"]}

@app.get("/none")
async def no_auth() -> dict:
    return {"sub": "ada_lovelace"}
'''


def e2e(seconds: int) -> list[tuple[str, float]]:
    import tempfile

    import httpx

    case = Case("RS256")
    policy = json.dumps({"issuers": [{"issuer": ISS, "audiences": [AUD], "algorithms": ["RS256"],
                                      "keys": {"pem": case.public_pem}}]})
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "e2e_app.py").write_text(E2E_APP)
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "e2e_app:app", "--host", "127.0.0.1", "--port", str(port),
             "--log-level", "warning", "--no-access-log"],
            cwd=tmp, env=dict(os.environ, BENCH_POLICY=policy))
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(200):
                try:
                    if httpx.get(f"{base}/none", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.05)
            for path in ("/jwtgate", "/pyjwt"):
                r = httpx.get(base + path, headers={"Authorization": f"Bearer {case.token}"})
                assert r.status_code == 200 and r.json() == {"sub": "ada_lovelace"}, (path, r.text)
                assert httpx.get(base + path, headers={"Authorization": "Bearer x.y.z"}).status_code == 401
            results = []
            for path in ("/none", "/jwtgate", "/pyjwt"):
                out = subprocess.run(
                    ["wrk", "-t1", "-c16", f"-d{seconds}s", "-H", f"Authorization: Bearer {case.token}", base + path],
                    capture_output=True, text=True, check=True).stdout
                rps = float(next(line for line in out.splitlines() if line.startswith("Requests/sec")).split()[1])
                if "Non-2xx" in out:
                    raise RuntimeError(f"{path}: wrk saw errors:\n{out}")
                results.append((path, rps))
            return results
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=0.4, help="length of one timed run")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; the best is kept")
    parser.add_argument("--e2e", action="store_true", help="also load a FastAPI server with wrk")
    parser.add_argument("--e2e-seconds", type=int, default=5)
    parser.add_argument("--out", type=Path, help="write the Markdown report here")
    parser.add_argument("--binding-cost", action="store_true",
                        help="only measure what the binding adds to the core (cost.py), same run")
    parser.add_argument("--callgrind", action="store_true",
                        help="with --binding-cost: also count instructions per call under valgrind")
    parser.add_argument("--algs", default=",".join(ALGS), help="algorithms, comma-separated")
    args = parser.parse_args()

    if args.binding_cost:
        import cost

        report = cost.run(Case, args.algs.split(","), args.seconds, args.repeat, args.callgrind)
        print("\n".join(report))
        if args.out:
            args.out.write_text("\n".join(report) + "\n")
        return

    from importlib.metadata import version

    versions = {name: version(name) for name in ("jwtgate", "PyJWT", "jwcrypto", "joserfc", "cryptography")}
    load_at_start = os.getloadavg()[0]
    rows = {}
    for alg in args.algs.split(","):
        rows[alg] = bench_alg(alg, args.seconds, args.repeat)
        r = rows[alg]
        print(f"{alg}: " + ", ".join(f"{k} {fmt(v)}" for k, v in r.items()), flush=True)

    lines = [
        "| alg | floor (cryptography) | jwtgate | verify_many | 2 threads | cache hit | PyJWT | PyJWT 2 threads | jwcrypto | joserfc |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for alg, r in rows.items():
        lines.append(f"| {alg} | {fmt(r['floor'])} | {fmt(r['jwtgate'])} | {fmt(r['jwtgate_many'])} | "
                     f"{fmt(r['jwtgate_2t'])} | {fmt(r['jwtgate_hit'])} | {fmt(r['pyjwt'])} | "
                     f"{fmt(r['pyjwt_2t'])} | {fmt(r['jwcrypto'])} | {fmt(r['joserfc'])} |")
    ratio_lines = [
        "| alg | jwtgate / PyJWT | jwtgate / fastest Python lib | jwtgate / floor | 2 threads / 1 | PyJWT 2 threads / 1 | cache hit / PyJWT |",
        "|---|---|---|---|---|---|---|",
    ]
    for alg, r in rows.items():
        fastest_name, fastest = max((("PyJWT", r["pyjwt"]), ("jwcrypto", r["jwcrypto"]), ("joserfc", r["joserfc"])),
                                    key=lambda x: x[1])
        ratio_lines.append(
            f"| {alg} | {r['jwtgate'] / r['pyjwt']:.2f}x | {r['jwtgate'] / fastest:.2f}x ({fastest_name}) | "
            f"{r['jwtgate'] / r['floor']:.2f} | {r['jwtgate_2t'] / r['jwtgate']:.2f}x | "
            f"{r['pyjwt_2t'] / r['pyjwt']:.2f}x | {r['jwtgate_hit'] / r['pyjwt']:.1f}x |")
    print("\n".join(lines))
    print("\n".join(ratio_lines))

    e2e_lines: list[str] = []
    if args.e2e:
        results = e2e(args.e2e_seconds)
        e2e_lines = ["| route | requests/s |", "|---|---|"]
        e2e_lines += [f"| `{path}` | {rps:,.0f} |" for path, rps in results]
        by = dict(results)
        e2e_lines.append(f"\njwtgate / PyJWT end to end: {by['/jwtgate'] / by['/pyjwt']:.2f}x "
                         f"(no-auth ceiling {by['/none']:,.0f} requests/s)")
        print("\n".join(e2e_lines))

    if args.out:
        load = (max(load_at_start, os.getloadavg()[0]),)
        cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name")), platform.processor())
        report = [
            "# Python verification benchmark",
            "",
            f"Command: `benches/python/run.sh` (`python bench.py --seconds {args.seconds} --repeat {args.repeat}"
            f"{' --e2e' if args.e2e else ''} --out RESULTS.md`)",
            "",
            f"Machine: {cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
            f"CPython {platform.python_version()}; highest 1-minute load average seen {load[0]:.2f}.",
            "Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()) + ".",
            "",
            *([f"**The machine was busy** (load {load[0]:.1f} on {os.cpu_count()} cores, other builds running):",
               "absolute figures are low and the thread-scaling columns measure contention, not the library.",
               ""] if load[0] > (os.cpu_count() or 1) else []),
            "Each library verifies the same token and checks signature, iss, aud and exp (PyJWT with a parsed key",
            "object, jwcrypto with a JWK, joserfc with a key and a claims registry). The floor is cryptography's",
            "signature check alone on pre-decoded input. jwtgate rows use a verifier without cache except",
            "\"cache hit\"; \"verify_many\" is per token in batches of 100; \"2 threads\" is the total over two",
            "threads. Operations per second, best of the interleaved rounds, single process, same run.",
            "",
            *lines,
            "",
            "## Ratios",
            "",
            *ratio_lines,
        ]
        if e2e_lines:
            report += ["", "## End to end: FastAPI route behind the dependency (RS256)", "",
                       f"uvicorn, one worker; `wrk -t1 -c16 -d{args.e2e_seconds}s` with a valid token on the same "
                       "machine (wrk shares the 2 cores with the server).", "", *e2e_lines]
        args.out.write_text("\n".join(report) + "\n")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
