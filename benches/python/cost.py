"""What the Python binding adds to the core, measured in the same run
(``bench.py --binding-cost``).

Per algorithm, 64 distinct tokens and one policy are written to files; the
core's own per-call time comes from ``target/release/percall`` (a Rust
binary that verifies the same tokens the same way, ``verify(token)`` on the
system clock, and reports its thread's CPU time), and the binding's from
``Verifier.verify`` timed on this thread's CPU time. The runs are
interleaved round by round, so a change in machine load hits both alike;
medians of the rounds are reported. Then 1 thread against 2 threads (wall
time, all the threads' calls together) for every algorithm and for cache
hits, interleaved the same way.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwtgate

REPO = Path(__file__).resolve().parents[2]
TOKENS = 64


def percall_path() -> Path:
    """Builds the core's per-call binary (bench profile, as the extension's
    release profile: thin LTO) and returns its path."""
    subprocess.run(["cargo", "build", "--quiet", "--profile", "bench", "-p", "jwtgate-benches", "--bin", "percall"],
                   cwd=REPO, check=True)
    target = Path(os.environ.get("CARGO_TARGET_DIR") or REPO / "target")
    return target / "release" / "percall"


class Core:
    """The percall binary serving one policy and token set."""

    def __init__(self, exe: Path, policy: dict[str, Any], tokens: list[str], tmp: Path, name: str) -> None:
        policy_file, tokens_file = tmp / f"{name}.policy.json", tmp / f"{name}.tokens.txt"
        policy_file.write_text(json.dumps(policy))
        tokens_file.write_text("\n".join(tokens) + "\n")
        self.files = (policy_file, tokens_file)
        self.proc = subprocess.Popen([str(exe), str(policy_file), str(tokens_file)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)

    def ns_per_call(self, seconds: float) -> float:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(f"{seconds}\n")
        self.proc.stdin.flush()
        calls, ns = self.proc.stdout.readline().split()
        return int(ns) / int(calls)

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(timeout=10)


CALLGRIND_CALLS = (1_000, 5_000)

PY_LOOP = """
import sys, jwtgate
policy, tokens, calls, claims = sys.argv[1], open(sys.argv[2]).read().split(), int(sys.argv[3]), sys.argv[4] == "1"
v = jwtgate.Verifier(policy)
for i in range(calls):
    r = v.verify(tokens[i % len(tokens)])
    if claims:
        r.claims
"""


def instructions(exe: Path, files: tuple[Path, Path]) -> dict[str, float]:
    """Instructions per call under callgrind (exact, load-independent): the
    difference between two runs of different lengths, so start-up cancels
    out. Python's includes its own loop around the call."""
    import sys

    def total(cmd: list[str]) -> int:
        out = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *cmd],
                             capture_output=True, text=True, check=True).stderr
        return int(next(line for line in out.splitlines() if "Collected :" in line).split()[-1])

    policy, tokens = (str(f) for f in files)
    runs = {
        "core": lambda n: [str(exe), policy, tokens, "--calls", str(n)],
        "py": lambda n: [sys.executable, "-c", PY_LOOP, policy, tokens, str(n), "0"],
        "py_claims": lambda n: [sys.executable, "-c", PY_LOOP, policy, tokens, str(n), "1"],
    }
    a, b = CALLGRIND_CALLS
    return {name: (total(cmd(b)) - total(cmd(a))) / (b - a) for name, cmd in runs.items()}


def python_ns_per_call(fn: Callable[[str], Any], tokens: list[str], seconds: float) -> float:
    """CPU time of this thread per call of `fn` over the tokens in turn."""
    calls, start, end = 0, time.thread_time_ns(), time.perf_counter() + seconds
    while time.perf_counter() < end:
        for t in tokens:
            fn(t)
        calls += len(tokens)
    return (time.thread_time_ns() - start) / calls


def wall_ops_per_s(fn: Callable[[str], Any], tokens: list[str], threads: int, seconds: float) -> float:
    """Calls per wall second over `threads` threads together."""
    from bench import threaded_ops_per_s

    def each() -> None:
        for t in tokens:
            fn(t)

    return threaded_ops_per_s(each, threads, seconds, 1) * len(tokens)


def signed_tokens(case: Any) -> list[str]:
    now = int(time.time())
    return [case.signer.sign({"iss": case_iss(case), "aud": case_aud(case), "sub": f"user_{i}", "iat": now,
                              "exp": now + 3600, "scope": "orders:read orders:write", "roles": ["admin", "dev"]})
            for i in range(TOKENS)]


def case_iss(case: Any) -> str:
    return case.jwtgate.policy["issuers"][0]["issuer"]


def case_aud(case: Any) -> str:
    return case.jwtgate.policy["issuers"][0]["audiences"][0]


def run(case_of: Callable[[str], Any], algs: list[str], seconds: float, rounds: int,
        callgrind: bool = False) -> list[str]:
    """Every figure; returns the Markdown report."""
    exe = percall_path()
    load = [os.getloadavg()[0]]
    cost_rows, thread_rows, ir_rows = [], [], []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for alg in algs:
            case = case_of(alg)
            tokens = signed_tokens(case)
            off, on = case.jwtgate, case.jwtgate_cached
            for t in tokens:
                assert off.verify(t).claims["sub"].startswith("user_")
            cores = {"off": Core(exe, off.policy, tokens, tmp, f"{alg}-off"),
                     "on": Core(exe, on.policy, tokens, tmp, f"{alg}-on")}
            for t in tokens:
                on.verify(t)
            series: dict[str, list[float]] = {}
            contenders: dict[str, Callable[[], float]] = {
                "core": lambda: cores["off"].ns_per_call(seconds),
                "py": lambda: python_ns_per_call(off.verify, tokens, seconds),
                "py_claims": lambda: python_ns_per_call(lambda t: off.verify(t).claims, tokens, seconds),
                "core_hit": lambda: cores["on"].ns_per_call(seconds),
                "py_hit": lambda: python_ns_per_call(on.verify, tokens, seconds),
            }
            threaded: dict[str, Callable[[], float]] = {
                "1t": lambda: wall_ops_per_s(off.verify, tokens, 1, seconds),
                "2t": lambda: wall_ops_per_s(off.verify, tokens, 2, seconds),
                "1t_hit": lambda: wall_ops_per_s(on.verify, tokens, 1, seconds),
                "2t_hit": lambda: wall_ops_per_s(on.verify, tokens, 2, seconds),
            }
            for name, fn in {**contenders, **threaded}.items():
                fn()  # warm up
            for _ in range(rounds):
                for name, fn in {**contenders, **threaded}.items():
                    series.setdefault(name, []).append(fn())
                load.append(os.getloadavg()[0])
            for c in cores.values():
                c.close()
            if callgrind:
                ir = instructions(exe, cores["off"].files)
                print(f"{alg} instructions: " + ", ".join(f"{k} {v:,.0f}" for k, v in ir.items()), flush=True)
                ir_rows.append(f"| {alg} | {ir['core']:,.0f} | {ir['py']:,.0f} | **{ir['py'] - ir['core']:+,.0f}** | "
                               f"{ir['py_claims'] - ir['py']:+,.0f} |")
            m = {name: statistics.median(v) for name, v in series.items()}
            print(f"{alg}: " + ", ".join(f"{k} {v:,.0f}" for k, v in m.items()), flush=True)
            cost_rows.append(
                f"| {alg} | {m['core']:,.0f} | {m['py']:,.0f} | **{m['py'] - m['core']:+,.0f}** | "
                f"{m['py'] / m['core']:.2f}x | {m['py_claims']:,.0f} | {m['core_hit']:,.0f} | {m['py_hit']:,.0f} | "
                f"**{m['py_hit'] - m['core_hit']:+,.0f}** |")
            ratios = [b / a for a, b in zip(series["1t"], series["2t"])]
            ratios_hit = [b / a for a, b in zip(series["1t_hit"], series["2t_hit"])]
            thread_rows.append(
                f"| {alg} | {m['1t']:,.0f} | {m['2t']:,.0f} | **{statistics.median(ratios):.2f}x** "
                f"({min(ratios):.2f}-{max(ratios):.2f}) | {m['1t_hit']:,.0f} | {m['2t_hit']:,.0f} | "
                f"**{statistics.median(ratios_hit):.2f}x** ({min(ratios_hit):.2f}-{max(ratios_hit):.2f}) |")
    return [
        f"jwtgate {jwtgate.__version__}; {os.cpu_count()} cores; 1-minute load average during the run "
        f"{min(load):.1f}-{max(load):.1f}; {rounds} interleaved rounds of {seconds} s per figure, medians.",
        "",
        "Nanoseconds per call (CPU time of the calling thread), cache off unless marked hit:",
        "",
        "| alg | core `verify` | Python `verify` | binding adds | Python / core | Python `verify(t).claims` "
        "| core, cache hit | Python, cache hit | binding adds (hit) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        *cost_rows,
        "",
        "1 thread against 2 threads (calls per wall second, all threads together; ratio: median of the rounds' "
        "ratios, range in brackets):",
        "",
        "| alg | 1 thread | 2 threads | 2 / 1 | cache hit, 1 thread | cache hit, 2 threads | 2 / 1 (hit) |",
        "|---|---:|---:|---:|---:|---:|---:|",
        *thread_rows,
        *(["", f"Instructions per call (callgrind, cache off; ({CALLGRIND_CALLS[1]:,} calls) - "
               f"({CALLGRIND_CALLS[0]:,} calls), divided by the difference; the Python figure includes its "
               "`for` loop):", "",
               "| alg | core `verify` | Python `verify` | binding adds | reading `.claims` adds |",
               "|---|---:|---:|---:|---:|", *ir_rows] if ir_rows else []),
    ]
