#!/usr/bin/env python3
"""Benchmark the misp-modules handler in-process: dict_handler latency cold and warm, where it goes, bulk rate.

    python benchmarks/bench_handler.py            # full run
    python benchmarks/bench_handler.py --quick    # short run, noisier figures
    python benchmarks/bench_handler.py --json     # also print the figures as one JSON line at the end
    python benchmarks/bench_handler.py --profile  # also cProfile dict_handler (cold and warm), print the top costs

Only measures and prints; each target is printed next to its figure with PASS or MISS.
"""

from __future__ import annotations

import cProfile
import gc
import io
import json
import pstats
import sys
import time
from pathlib import Path
from typing import Any, Sequence

from timing import (QUERIES_FILE, Report, aliases_config, clear_caches, default_config, finish, load_queries, log,
                    parser, pct, start, summary, time_calls, time_cold, ui_payload)

TARGETS = {"handler_p50_ms": 3.0}  # dict_handler p50 <= 3 ms, cold and warm


def bench_handler(report: Report, queries: list[tuple[str, str]], rounds: int) -> None:
    from misp_actor_enrich.misp import module

    names = [q for _, q in queries]
    report.section(f"dict_handler on a_ui payloads ({len(names)} queries x {rounds} rounds; ms per call)")
    figures: dict[str, Any] = {}
    errors: list[str] = []
    for label, config in {"default config": default_config(), "aliases=1": aliases_config()}.items():
        payloads = [ui_payload(q, config) for q in names]
        for p in payloads:  # warm the caches, and check every answer
            answer = module.dict_handler(p)
            if "error" in answer:
                errors.append(f"{p['attribute']['value']!r}: {answer['error']}")
        sizes = sorted(len(json.dumps(module.dict_handler(p))) for p in payloads)
        log(f"handler ({label}): {rounds} rounds warm, {rounds} rounds cold")
        gc.collect()
        warm = summary(time_calls(module.dict_handler, payloads, rounds), 1e6)
        gc.collect()
        cold = summary(time_cold(module.dict_handler, payloads, rounds), 1e6)
        figures[label] = {"warm": warm, "cold": cold, "response_bytes_p50": pct(sizes, 50),
                          "response_bytes_max": sizes[-1]}
        for kind, s in (("cold", cold), ("warm", warm)):
            report.check(f"handler p50, {kind}, {label}", s["p50"], "{:.2f}", TARGETS["handler_p50_ms"], "<=",
                         " ms", info=f"p99 {s['p99']:.2f} ms, mean {s['mean']:.2f} ms")
        report.row(f"response size p50 / max, {label}", f"{pct(sizes, 50) / 1024:.1f} / {sizes[-1] / 1024:.1f} KiB")
    cleared = clear_caches()
    report.note("cold: caches cleared before every call (a name never seen before): " + ", ".join(cleared))
    report.note("warm: the same names again (steady state). default config = every setting null; "
                "aliases=1 = include_aliases_as_attributes '1'")
    if errors:
        report.note(f"{len(errors)} payloads answered with an error, e.g. {errors[0]}")
    report.figures["handler_ms"] = figures
    report.figures["caches_cleared_for_cold"] = cleared
    try:
        stages = handler_stages(names, max(2, rounds // 2))
    except Exception as exc:  # the breakdown uses internals; never let it sink the run
        report.note(f"stage breakdown unavailable: {type(exc).__name__}: {exc}")
    else:
        report.note("where a cold default-config query goes (mean per query; internals timed one by one):")
        for stage, v in stages.items():
            report.note(f"  {stage:<58} {v['mean'] * 1e3:8.1f} µs")
        report.figures["handler_stages_ms"] = stages


def handler_stages(names: Sequence[str], rounds: int) -> dict[str, dict[str, float]]:
    """Mean ms per cold query of each step of ``module._answer``, plus misp-modules' own serialisation."""
    import orjson
    from pymisp.abstract import pymisp_json_default

    from misp_actor_enrich.core.answer import answer
    from misp_actor_enrich.data import runtime
    from misp_actor_enrich.misp import module
    from misp_actor_enrich.misp.results import results

    known = runtime.current()
    payloads = [ui_payload(q, default_config()) for q in names]
    clock = time.perf_counter_ns
    keys = ["parse_request (payload + config)",
            "resolve (uncached index._resolve)",
            "answer() (policy + targeting, cold)",
            "results(), first time (PyMISP render)",
            "results(), same answer again (cached, restamped)",
            "orjson.dumps by misp-modules (outside the handler)"]
    spent = dict.fromkeys(keys, 0)
    count = 0
    for _ in range(rounds):
        for payload in payloads:
            clear_caches()
            t0 = clock()
            request = module.parse_request(payload)
            t1 = clock()
            resolution = known.index._resolve(request.value)
            t2 = clock()
            found = answer(resolution, known, request.settings)
            t3 = clock()
            results(found, request.settings, input_uuid=request.input_uuid, hover=request.hover)
            t4 = clock()
            body = results(found, request.settings, input_uuid=request.input_uuid, hover=request.hover)
            t5 = clock()
            orjson.dumps(body, default=pymisp_json_default)
            t6 = clock()
            for key, a, b in zip(keys, (t0, t1, t2, t3, t4, t5), (t1, t2, t3, t4, t5, t6), strict=True):
                spent[key] += b - a
            count += 1
    return {k: {"mean": v / count / 1e6} for k, v in spent.items()}


def bench_bulk(report: Report, queries: list[tuple[str, str]], rounds: int) -> None:
    """Attributes enriched per second, dict_handler in a plain loop over the query set."""
    from misp_actor_enrich.misp import module

    names = [q for _, q in queries]
    report.section(f"bulk enrichment: dict_handler in a loop ({len(names)} queries x {rounds} rounds)")
    bulk: dict[str, float] = {}
    for label, config in {"default config": default_config(), "aliases=1": aliases_config()}.items():
        payloads = [ui_payload(q, config) for q in names]
        for p in payloads:  # the stage breakdown left the caches cold: warm them, untimed
            module.dict_handler(p)
        gc.collect()
        t0 = time.perf_counter()
        for _ in range(rounds):
            for p in payloads:
                module.dict_handler(p)
        rate = len(payloads) * rounds / (time.perf_counter() - t0)
        bulk[f"warm, {label}"] = rate
        report.row(f"attributes / s, warm, {label}", f"{rate:,.0f} /s", "names repeat: answers from the caches")
        cold_rounds = max(1, rounds // 3)
        spent_ns = sum(time_cold(module.dict_handler, payloads, cold_rounds))
        rate = len(payloads) * cold_rounds / (spent_ns / 1e9)
        bulk[f"cold, {label}"] = rate
        report.row(f"attributes / s, cold, {label}", f"{rate:,.0f} /s", "every name new (cache clearing untimed)")
    report.figures["bulk_attributes_per_s"] = bulk


def profile_handler(queries: list[tuple[str, str]], rounds: int, top: int = 25) -> str:
    """cProfile dict_handler over the query set: cold (caches cleared outside the profile), then warm."""
    from misp_actor_enrich.misp import module

    payloads = [ui_payload(q, default_config()) for _, q in queries]
    out = io.StringIO()
    for kind in ("cold", "warm"):
        for p in payloads:
            module.dict_handler(p)
        profiler = cProfile.Profile()
        for _ in range(rounds):
            for p in payloads:
                if kind == "cold":
                    clear_caches()
                profiler.enable()
                module.dict_handler(p)
                profiler.disable()
        out.write(f"\n=== {kind}: {rounds} x {len(payloads)} calls, top {top} by own time ===\n")
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
        out.write(f"\n=== {kind}: top {top} by cumulative time ===\n")
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def main(argv: Sequence[str] | None = None) -> int:
    p = parser(__doc__, "a few seconds")
    p.add_argument("--profile", action="store_true", help="also cProfile dict_handler and print the top costs")
    p.add_argument("--queries", type=Path, default=QUERIES_FILE, help="query file (default: %(default)s)")
    args = p.parse_args(argv)
    queries = load_queries(args.queries)
    plan: dict[str, Any] = {"handler_rounds": 4 if args.quick else 20, "bulk_rounds": 3 if args.quick else 15}
    started = time.perf_counter()
    header = start("handler", args.quick, queries, args.queries)
    report = Report()
    bench_handler(report, queries, plan["handler_rounds"])
    bench_bulk(report, queries, plan["bulk_rounds"])
    extra = ""
    if args.profile:
        extra = "\ncProfile of dict_handler (default config, whole query set)" + profile_handler(
            queries, 2 if args.quick else 5)
    return finish(report, header, started, args, plan, TARGETS, extra)


if __name__ == "__main__":
    sys.exit(main())
