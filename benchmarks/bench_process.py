#!/usr/bin/env python3
"""Benchmark start-up: the first query in a fresh process, and misp-modules start-up with and without our module.

    python benchmarks/bench_process.py                 # full run
    python benchmarks/bench_process.py --quick         # short run, noisier figures
    python benchmarks/bench_process.py --json          # also print the figures as one JSON line at the end
    python benchmarks/bench_process.py --skip-server   # only the fresh process (no misp-modules servers)

Only measures and prints; each target is printed next to its figure with PASS or MISS.
Servers listen on 127.0.0.1 only, on ports picked by binding port 0, and are always terminated.
"""

from __future__ import annotations

import http.client
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

from timing import (MODULE, PYTHON, Report, Server, default_config, exit_on_sigterm, finish, log, parser,
                    post_query, start, ui_payload)

TARGETS = {
    "first_query_s": 1.0,     # first query in a fresh process <= 1 s
    "startup_added_s": 0.15,  # misp-modules start-up added by -c <modules root> <= 0.15 s
}

FRESH_SCRIPT = r'''
import json, sys, time
t0 = time.perf_counter()
from misp_actor_enrich.misp import module
t1 = time.perf_counter()
payload = json.loads(sys.argv[1])
answer = module.dict_handler(payload)
t2 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "first_query_s": t2 - t1, "error": answer.get("error")}))
'''


def bench_fresh(report: Report, runs: int) -> None:
    payload = json.dumps(ui_payload("Reaper", default_config()))
    rows: list[dict[str, Any]] = []
    log(f"fresh process: {runs} runs")
    for _ in range(runs):
        t0 = time.perf_counter()
        done = subprocess.run([PYTHON, "-c", FRESH_SCRIPT, payload], capture_output=True, text=True,
                              cwd=tempfile.gettempdir(), timeout=120)
        wall = time.perf_counter() - t0
        if done.returncode != 0:
            raise RuntimeError(f"fresh-process run failed: {done.stderr.strip()[-400:]}")
        row = json.loads(done.stdout.strip().splitlines()[-1])
        row["process_wall_s"] = wall
        rows.append(row)
    med = {k: statistics.median(r[k] for r in rows) for k in ("import_s", "first_query_s", "process_wall_s")}
    report.section(f"fresh process: `python -c` imports the module, then handles one a_ui payload (median of {runs})")
    report.row("import misp_actor_enrich.misp.module", f"{med['import_s'] * 1e3:.0f} ms")
    report.check("first query (builds the knowledge)", med["first_query_s"], "{:.2f}", TARGETS["first_query_s"],
                 "<=", " s", info="runs: " + ", ".join(f"{r['first_query_s']:.2f}" for r in rows))
    report.row("whole process, wall (interpreter start included)", f"{med['process_wall_s']:.2f} s")
    if any(r.get("error") for r in rows):
        report.note(f"the first query answered with an error: {rows[0].get('error')}")
    report.figures["fresh_process_s"] = {**med, "runs": rows}


def bench_startup(report: Report, runs: int, work: Path, modules_root: Path) -> None:
    without, with_root = "without -c", "with -c <modules root>"
    times: dict[str, list[float]] = {without: [], with_root: []}
    first_query: list[float] = []
    missing = False
    body = json.dumps(ui_payload("Reaper", default_config())).encode()
    log(f"misp-modules start-up: {runs} runs each, interleaved")
    for _ in range(runs):
        for label, root in ((without, None), (with_root, modules_root)):
            with Server(root, work) as server:
                times[label].append(server.start())
                if root is None:
                    continue
                missing = missing or MODULE not in server.modules
                conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
                t0 = time.perf_counter()
                answer = json.loads(post_query(conn, body))
                first_query.append(time.perf_counter() - t0)
                conn.close()
                if "error" in answer:
                    report.figures.setdefault("startup_errors", []).append(answer["error"])
    med = {k: statistics.median(v) for k, v in times.items()}
    added = med[with_root] - med[without]
    report.section(f"misp-modules start-up: spawn until GET /modules answers (median of {runs}, interleaved)")
    for label, value in med.items():
        report.row(f"start-up {label}", f"{value:.3f} s", "runs: " + ", ".join(f"{t:.3f}" for t in times[label]))
    report.check(f"start-up added by {MODULE}", added, "{:.3f}", TARGETS["startup_added_s"], "<=", " s",
                 info="the knowledge is built on the first query, not at start-up")
    report.row("first /query on each fresh server", f"{statistics.median(first_query) * 1e3:.0f} ms",
               "median; builds the knowledge")
    if missing:
        report.note(f"{MODULE} was missing from /modules with -c!")
    report.figures["startup_s"] = {"median": med, "runs": times, "added": added,
                                   "first_query_s_median": statistics.median(first_query)}


def main(argv: Sequence[str] | None = None) -> int:
    p = parser(__doc__, "about 10 s")
    p.add_argument("--skip-server", action="store_true", help="skip misp-modules start-up (no servers)")
    args = p.parse_args(argv)
    from misp_actor_enrich.misp.module import modules_root

    plan: dict[str, Any] = {"fresh_runs": 3 if args.quick else 5, "startup_runs": 2 if args.quick else 3}
    started = time.perf_counter()
    header = start("start-up", args.quick)
    report = Report()
    exit_on_sigterm()
    work = Path(tempfile.mkdtemp(prefix="misp-actor-enrich-bench-"))
    try:
        bench_fresh(report, plan["fresh_runs"])
        if not args.skip_server:
            bench_startup(report, plan["startup_runs"], work, modules_root())
    finally:
        Server.stop_all()
        shutil.rmtree(work, ignore_errors=True)
    return finish(report, header, started, args, plan, TARGETS)


if __name__ == "__main__":
    sys.exit(main())
