#!/usr/bin/env python3
"""Print the Core (Rust) table of BENCHMARKS.md from criterion's results.

Reads target/criterion/**/new/{benchmark,estimates}.json as left by
`cargo bench -p jwtgate-benches` and prints, in markdown, ops/s per
algorithm and contender and the ratios the benchmark targets name.

Usage: python3 benches/report.py [CRITERION_DIR] [--estimate median|mean|min]
`min` is the fastest sample (time / iterations): on a shared machine other
load only ever adds time, so it is the steadiest of the three there.
The default directory is $CARGO_TARGET_DIR/criterion, else target/criterion
at the repository root. Exits 1 when no results are found.
"""

import argparse
import json
import os
import sys
from pathlib import Path

ALGS = ["RS256", "PS256", "ES256", "ES384", "EdDSA", "HS256"]
ASYMMETRIC = ALGS[:-1]
COLUMNS = [
    ("a_raw", "(a) raw aws-lc-rs"),
    ("b_jwtgate", "(b) jwtgate verify, cache off"),
    ("c_jsonwebtoken", "(c) jsonwebtoken 11 decode"),
    ("d_cache_hit", "(d) jwtgate cache hit"),
]


def default_dir() -> Path:
    target = os.environ.get("CARGO_TARGET_DIR")
    if target:
        return Path(target) / "criterion"
    return Path(__file__).resolve().parent.parent / "target" / "criterion"


def load(root: Path, estimate: str) -> dict:
    """{(group, function): ops per second} from every `new` result."""
    results = {}
    for bench_file in root.glob("**/new/benchmark.json"):
        estimates_file = bench_file.with_name("estimates.json")
        if not estimates_file.exists():
            continue
        bench = json.loads(bench_file.read_text())
        if estimate == "min":
            sample = json.loads(bench_file.with_name("sample.json").read_text())
            ns = min(t / i for t, i in zip(sample["times"], sample["iters"]))
        else:
            ns = json.loads(estimates_file.read_text())[estimate]["point_estimate"]
        if ns > 0:
            results[(bench["group_id"], bench["function_id"])] = 1e9 / ns
    return results


def fmt_ops(ops) -> str:
    if ops is None:
        return "–"
    if ops >= 1e6:
        return f"{ops / 1e6:.2f}M"
    if ops >= 1e3:
        return f"{ops / 1e3:.1f}k"
    return f"{ops:.0f}"


def ratio(x, y):
    return None if x is None or y is None else x / y


def fmt_ratio(r) -> str:
    return "–" if r is None else f"{r:.2f}x"


def verdict(ok) -> str:
    return "–" if ok is None else ("met" if ok else "**missed**")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", nargs="?", type=Path, default=default_dir())
    parser.add_argument("--estimate", choices=["median", "mean", "min"], default="median")
    parser.add_argument("--clock", choices=["cpu", "wall"],
                        default="wall" if os.environ.get("JWTGATE_BENCH_CLOCK") == "wall" else "cpu",
                        help="the clock the per-algorithm benches ran on (JWTGATE_BENCH_CLOCK)")
    args = parser.parse_args()
    results = load(args.dir, args.estimate)
    if not results:
        print(f"no criterion results under {args.dir}; run `cargo bench -p jwtgate-benches` first",
              file=sys.stderr)
        return 1
    get = lambda alg, fn: results.get((alg, fn))  # noqa: E731

    clock = "thread CPU time" if args.clock == "cpu" else "wall time"
    what = "fastest" if args.estimate == "min" else args.estimate
    print(f"ops/s per core on {clock} ({what} of criterion's samples); "
          "(b)/(a) and (b)/(c) from the same run.")
    print()
    print("| alg | " + " | ".join(title for _, title in COLUMNS) + " | (b)/(a) | (b)/(c) |")
    print("|---|" + "---:|" * (len(COLUMNS) + 2))
    for alg in ALGS:
        cells = [fmt_ops(get(alg, fn)) for fn, _ in COLUMNS]
        b = get(alg, "b_jwtgate")
        cells += [fmt_ratio(ratio(b, get(alg, "a_raw"))), fmt_ratio(ratio(b, get(alg, "c_jsonwebtoken")))]
        print(f"| {alg} | " + " | ".join(cells) + " |")
    one, two = get("rs256_threads", "1"), get("rs256_threads", "2")
    print()
    print(f"RS256 jwtgate verify (cache off), wall time: 1 thread {fmt_ops(one)}/s, "
          f"2 threads {fmt_ops(two)}/s in total.")
    print()

    print("| target | measured | result |")
    print("|---|---|---|")
    for alg in ASYMMETRIC:
        r = ratio(get(alg, "b_jwtgate"), get(alg, "a_raw"))
        print(f"| {alg} (b) >= 0.95x (a) | {fmt_ratio(r)} | {verdict(None if r is None else r >= 0.95)} |")
    hs = get("HS256", "b_jwtgate")
    print(f"| HS256 (b) >= 1M/s per core | {fmt_ops(hs)}/s | {verdict(None if hs is None else hs >= 1e6)} |")
    for alg in ALGS:
        r = ratio(get(alg, "b_jwtgate"), get(alg, "c_jsonwebtoken"))
        print(f"| {alg} (b) ahead of (c) | {fmt_ratio(r)} | {verdict(None if r is None else r > 1.0)} |")
    hits = [get(alg, "d_cache_hit") for alg in ALGS if get(alg, "d_cache_hit") is not None]
    low = min(hits) if hits else None
    print(f"| cache hit >= 3M/s per core | {fmt_ops(low)}/s (slowest of {len(hits)}) "
          f"| {verdict(None if low is None else low >= 3e6)} |")
    r = ratio(two, one)
    print(f"| RS256 2 threads >= 1.9x 1 | {fmt_ratio(r)} | {verdict(None if r is None else r >= 1.9)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
