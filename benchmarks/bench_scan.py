#!/usr/bin/env python3
"""Benchmark the free-text scanner: build cost, scan time for 10 KB / 100 KB / 1 MB, peak memory.

    python benchmarks/bench_scan.py            # best of 5 runs per size
    python benchmarks/bench_scan.py --runs 1   # quicker, noisier

Two kinds of text, both built offline from files in this repository and the bundled data:
``news`` repeats the hand-written paragraphs in fixtures/texts (ordinary prose with a few
actors per paragraph); ``dense`` concatenates the galaxies' own cluster descriptions (an
actor name every few lines, the worst realistic case). Peak memory is measured with
tracemalloc around one scan, the text already allocated. Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

from timing import REPO, timed_knowledge

from misp_actor_enrich.core.knowledge import Knowledge
from misp_actor_enrich.core.text_scan import TextScanner

SIZES = (("10 KB", 10_000), ("100 KB", 100_000), ("1 MB", 1_000_000))


def _repeat_to(seed: str, size: int) -> str:
    return (seed * (size // max(len(seed), 1) + 1))[:size]


def _news_seed() -> str:
    paragraphs = [p.read_text(encoding="utf-8") for p in sorted((REPO / "fixtures" / "texts").glob("*.txt"))]
    return "\n\n".join(paragraphs) + "\n\n"


def _dense_seed(know: Knowledge) -> str:
    return "\n\n".join(c.description for a in know.actors for c in a.clusters if c.description) + "\n\n"


def _best(scanner: TextScanner, text: str, runs: int) -> tuple[float, int, int]:
    """(best seconds, findings, mentions) over ``runs`` scans."""
    best, findings, mentions = float("inf"), 0, 0
    for _ in range(runs):
        started = time.perf_counter()
        scan = scanner.scan(text)
        best = min(best, time.perf_counter() - started)
        findings, mentions = len(scan.findings), sum(len(f.mentions) for f in scan.findings)
    return best, findings, mentions


def _peak(scanner: TextScanner, text: str) -> int:
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        scanner.scan(text)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="scans per size; the best is printed")
    args = parser.parse_args()

    know, knowledge_s = timed_knowledge()
    builds = []
    for _ in range(max(args.runs, 1)):
        started = time.perf_counter()
        scanner = TextScanner.from_knowledge(know)
        builds.append(time.perf_counter() - started)
    print(f"knowledge (bundled data), built once per process: {knowledge_s * 1000:8.1f} ms")
    print(f"TextScanner.from_knowledge: {min(builds) * 1000:8.1f} ms best, {max(builds) * 1000:.1f} ms worst "
          f"({scanner.name_count} names indexed)")

    seeds = {"news": _news_seed(), "dense": _dense_seed(know)}
    scanner.scan(seeds["news"])          # warm the resolver cache the way a running module would be
    print()
    print(f"{'text':6} {'size':>7} {'scan':>10} {'MB/s':>7} {'findings':>9} {'mentions':>9} {'peak memory':>12}")
    for kind, seed in seeds.items():
        for label, size in SIZES:
            text = _repeat_to(seed, size)
            seconds, findings, mentions = _best(scanner, text, max(args.runs, 1))
            peak = _peak(scanner, text)
            print(f"{kind:6} {label:>7} {seconds * 1000:8.1f}ms {size / seconds / 1e6:7.1f} "
                  f"{findings:9d} {mentions:9d} {peak / 1024:9.0f} KiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
