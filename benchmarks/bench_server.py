#!/usr/bin/env python3
"""Benchmark /query on one real misp-modules server: actor_enrich against a no-op module and a canned reply.

    python benchmarks/bench_server.py            # full run
    python benchmarks/bench_server.py --quick    # short run, noisier figures
    python benchmarks/bench_server.py --json     # also print the figures as one JSON line at the end

Only measures and prints; each target is printed next to its figure with PASS or MISS.
The server listens on 127.0.0.1 only, on a port picked by binding port 0, and is always terminated.
"""

from __future__ import annotations

import http.client
import json
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from timing import (MODULE, QUERIES_FILE, UI_PAYLOAD, Report, Server, default_config, exit_on_sigterm, finish,
                    load_queries, log, parser, post_query, start, summary, ui_payload)

# /query req/s for the query-set mix (resolved, ambiguous, near-miss, unknown names) >= 85 % of a
# do-nothing module's on the same server in the same run, sent the very same requests.
TARGETS = {"throughput_ratio": 0.85}
TRIVIAL = "trivial_echo"
CANNED = "canned_reply"

TRIVIAL_MODULE_SOURCE = '''\
"""A do-nothing expansion module: the baseline for /query throughput."""
mispattributes = {"input": ["threat-actor"], "output": ["threat-actor"], "format": "misp_standard"}
moduleinfo = {"version": "1", "author": "bench", "description": "NAME", "module-type": ["expansion"],
              "name": "NAME", "logo": "", "requirements": [], "features": "", "references": [],
              "input": "", "output": ""}
moduleconfig = []


def introspection():
    return mispattributes


def version():
    return {**moduleinfo, "config": moduleconfig}


def dict_handler(request):
    return {"results": {}}
'''.replace("NAME", TRIVIAL)

# Same as trivial_echo, but replies with actor_enrich's own reply (read once at import):
# the cost of serialising and moving a reply that size, with no module work.
CANNED_MODULE_SOURCE = TRIVIAL_MODULE_SOURCE.replace(TRIVIAL, CANNED).replace(
    'def dict_handler(request):\n    return {"results": {}}',
    'import json\nimport pathlib\n\n'
    'REPLY = json.loads((pathlib.Path(__file__).resolve().parent.parent / "canned_reply.json").read_text())\n\n\n'
    'def dict_handler(request):\n    return REPLY')


def hammer(port: int, bodies: Sequence[bytes], requests: int, concurrency: int) -> tuple[float, list[int], int]:
    """``requests`` POSTs over ``concurrency`` keep-alive connections; (elapsed s, latencies ns, error replies)."""
    latencies: list[int] = []
    failures: list[BaseException] = []
    errors = [0]
    lock = threading.Lock()
    counter = iter(range(requests))
    start_line = threading.Barrier(concurrency + 1)

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine: list[int] = []
        bad = 0
        try:
            start_line.wait()
            while True:
                with lock:
                    i = next(counter, None)
                if i is None:
                    break
                t0 = time.perf_counter_ns()
                data = post_query(conn, bodies[i % len(bodies)])
                mine.append(time.perf_counter_ns() - t0)
                if data.startswith(b'{"error"'):
                    bad += 1
        except BaseException as exc:  # noqa: BLE001 - reported after join
            failures.append(exc)
        finally:
            conn.close()
            with lock:
                latencies.extend(mine)
                errors[0] += bad

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for t in threads:
        t.start()
    start_line.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    if failures:
        raise RuntimeError(f"{len(failures)} client threads failed: {failures[0]!r}")
    return elapsed, latencies, errors[0]


def server_cpu_clock(server: Server) -> Callable[[], float]:
    """CPU seconds (user + system) used so far by the server process; 0 when unavailable."""
    try:
        import psutil  # type: ignore[import-untyped]  # a misp-modules dependency

        process = psutil.Process(server.proc.pid if server.proc else 0)

        def seconds() -> float:
            times = process.cpu_times()
            return float(times.user + times.system)
        seconds()
        return seconds
    except Exception:  # noqa: BLE001 - optional figure
        return lambda: 0.0


def bench_throughput(report: Report, queries: list[tuple[str, str]], requests: int, concurrency: int,
                     work: Path, modules_root: Path) -> None:
    from misp_actor_enrich.misp import module

    a_ui = json.loads(UI_PAYLOAD.read_text(encoding="utf-8"))
    root = work / "throughput_root"
    (root / "expansion").mkdir(parents=True)
    (root / "expansion" / f"{TRIVIAL}.py").write_text(TRIVIAL_MODULE_SOURCE, encoding="utf-8")
    (root / "expansion" / f"{CANNED}.py").write_text(CANNED_MODULE_SOURCE, encoding="utf-8")
    (root / "canned_reply.json").write_text(json.dumps(module.dict_handler(a_ui)), encoding="utf-8")
    shutil.copy2(modules_root / "expansion" / f"{MODULE}.py", root / "expansion" / f"{MODULE}.py")

    trivial_label = f"{TRIVIAL} (query-set mix)"
    ours_label = f"{MODULE} (a_ui payload, 'Reaper')"
    mix_label = f"{MODULE} (query-set mix, default config)"
    canned_label = f"{CANNED} (actor_enrich's reply, no work)"
    mix = [ui_payload(q, default_config()) for _, q in queries]
    runs = {trivial_label: [json.dumps({**body, "module": TRIVIAL}).encode() for body in mix],
            ours_label: [json.dumps(a_ui).encode()],
            mix_label: [json.dumps(body).encode() for body in mix],
            canned_label: [json.dumps({**a_ui, "module": CANNED, "config": {}}).encode()]}

    serial = {f"{trivial_label}, concurrency 1": runs[trivial_label],
              f"{mix_label}, concurrency 1": runs[mix_label]}
    elapsed = {label: 0.0 for label in (*runs, *serial)}
    latencies: dict[str, list[int]] = {label: [] for label in elapsed}
    error_replies = {label: 0 for label in elapsed}
    server_cpu = {label: 0.0 for label in elapsed}
    with Server(root, work) as server:
        server.start()
        cpu_seconds = server_cpu_clock(server)
        missing = [m for m in (MODULE, TRIVIAL, CANNED) if m not in server.modules]
        if missing:
            raise RuntimeError(f"modules missing from the throughput server: {missing}; log: {server.log_tail()}")
        log(f"/query throughput on 127.0.0.1:{server.port}: warm-up")
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        for bodies in runs.values():
            for body in bodies:
                answer = json.loads(post_query(conn, body))
                if "error" in answer:
                    raise RuntimeError(f"warm-up query answered an error: {answer['error']}")
        conn.close()
        for bodies in runs.values():
            hammer(server.port, bodies, max(50, requests // 20), concurrency)
        # Two alternating halves per run, so a drift in machine load hits every run alike.
        plan = [(label, bodies, half, concurrency) for half in (requests // 2, requests - requests // 2)
                for label, bodies in runs.items()]
        plan += [(label, bodies, requests // 2, 1) for label, bodies in serial.items()]
        for label, bodies, count, threads in plan:
            log(f"/query throughput: {label}, {count} requests, concurrency {threads}")
            cpu0 = cpu_seconds()
            seconds, lat, bad = hammer(server.port, bodies, count, threads)
            server_cpu[label] += cpu_seconds() - cpu0
            elapsed[label] += seconds
            latencies[label].extend(lat)
            error_replies[label] += bad

    rates = {label: len(latencies[label]) / elapsed[label] for label in elapsed}
    cpu_per_request_ms = {label: server_cpu[label] / len(latencies[label]) * 1e3 for label in elapsed}
    ratio = rates[mix_label] / rates[trivial_label]
    report.section(f"/query on one real misp-modules server ({requests} requests per module, "
                   f"concurrency {concurrency}, keep-alive http.client)")
    for label in elapsed:
        spread = summary(latencies[label], 1e6)
        report.row(f"req/s, {label}", f"{rates[label]:,.0f} /s",
                   f"latency p50 {spread['p50']:.1f} / p99 {spread['p99']:.1f} ms; server CPU "
                   f"{cpu_per_request_ms[label]:.2f} ms/req")
    report.check(f"ratio {MODULE} / {TRIVIAL}, query-set mix", ratio * 100, "{:.0f}", TARGETS["throughput_ratio"] * 100,
                 ">=", " %")
    report.row(f"ratio {MODULE} 'Reaper' with aliases=1 / {TRIVIAL}",
               f"{rates[ours_label] / rates[trivial_label] * 100:.0f} %", "one heavy answer (every alias an attribute)")
    report.row(f"ratio {CANNED} / {TRIVIAL}", f"{rates[canned_label] / rates[trivial_label] * 100:.0f} %",
               "ceiling for a reply this size: only serialising and moving it")
    report.note("the client runs in this process on the same machine; every module pays the same client cost")
    if any(error_replies.values()):
        report.note("error replies: " + ", ".join(f"{k}: {v}" for k, v in error_replies.items() if v))
    report.figures["throughput"] = {"req_per_s": rates, "ratio": ratio, "requests": requests,
                                    "server_cpu_ms_per_request": cpu_per_request_ms,
                                    "concurrency": concurrency, "error_replies": error_replies,
                                    "latency_ms": {k: summary(v, 1e6) for k, v in latencies.items()}}


def main(argv: Sequence[str] | None = None) -> int:
    p = parser(__doc__, "about 10 s")
    p.add_argument("--queries", type=Path, default=QUERIES_FILE, help="query file (default: %(default)s)")
    args = p.parse_args(argv)
    from misp_actor_enrich.misp.module import modules_root

    queries = load_queries(args.queries)
    plan: dict[str, Any] = {"requests": 400 if args.quick else 2000, "concurrency": 8}
    started = time.perf_counter()
    header = start("/query throughput", args.quick, queries, args.queries)
    report = Report()
    exit_on_sigterm()
    work = Path(tempfile.mkdtemp(prefix="misp-actor-enrich-bench-"))
    try:
        bench_throughput(report, queries, plan["requests"], plan["concurrency"], work, modules_root())
    finally:
        Server.stop_all()
        shutil.rmtree(work, ignore_errors=True)
    return finish(report, header, started, args, plan, TARGETS)


if __name__ == "__main__":
    sys.exit(main())
