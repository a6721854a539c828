#!/usr/bin/env python3
"""Run every misp-actor-enrich benchmark in turn (``make bench``), each script in its own process.

    python benchmarks/bench.py                # full run (about 45 s on 2 CPUs)
    python benchmarks/bench.py --quick        # short run (about 20 s), noisier figures
    python benchmarks/bench.py --json         # also print every figure as one JSON line at the end
    python benchmarks/bench.py --profile      # also cProfile dict_handler (bench_handler.py --profile)
    python benchmarks/bench.py --skip-server  # no misp-modules servers: no start-up, no /query throughput

Runs bench_resolve.py, bench_handler.py, bench_process.py and bench_server.py, prints
each one's table, then every target together. It only measures and prints: a MISS
never fails the run, a script that crashes does (exit status 1, after the others ran).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Sequence

from timing import HERE, PYTHON, QUERIES_FILE, exit_on_sigterm, log, verdict_lines

# (script, options it takes besides --quick and --json)
SCRIPTS = (("bench_resolve.py", ("--queries",)),
           ("bench_handler.py", ("--queries", "--profile")),
           ("bench_process.py", ("--skip-server",)),
           ("bench_server.py", ("--queries",)))


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="short run (about 20 s), noisier figures")
    p.add_argument("--json", action="store_true", help="also print all figures as one JSON line at the end")
    p.add_argument("--profile", action="store_true", help="also cProfile dict_handler and print the top costs")
    p.add_argument("--queries", type=Path, default=QUERIES_FILE, help="query file (default: %(default)s)")
    p.add_argument("--skip-server", action="store_true", help="start no misp-modules servers")
    args = p.parse_args(argv)
    given = {"--queries": ["--queries", str(args.queries)], "--profile": ["--profile"] if args.profile else [],
             "--skip-server": ["--skip-server"] if args.skip_server else []}

    exit_on_sigterm()
    started = time.perf_counter()
    figures: dict[str, Any] = {"plan": {}, "targets": {}, "verdicts": {}, "script_total_s": {}}
    failed: list[str] = []
    for script, takes in SCRIPTS:
        if args.skip_server and script == "bench_server.py":
            continue
        command = [PYTHON, str(HERE / script), "--json", *(["--quick"] if args.quick else [])]
        command += [word for option in takes for word in given[option]]
        log(f"running {script}")
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        try:
            out, _ = proc.communicate()
        finally:
            if proc.poll() is None:  # interrupted: let it stop its servers
                proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
        lines = out.rstrip("\n").split("\n")
        if proc.returncode != 0 or not lines[-1].startswith("{"):
            failed.append(script)
            print(out, end="")
            print(f"{script} FAILED (exit status {proc.returncode}); see its stderr\n")
            continue
        print("\n".join(lines[:-1]) + "\n")
        found = json.loads(lines[-1])
        for key in ("plan", "targets", "verdicts"):
            figures[key].update(found.pop(key))
        figures["script_total_s"][script] = found.pop("total_s")
        figures.update(found)

    verdicts = [(metric, v["value"], v["target"], v["verdict"]) for metric, v in figures["verdicts"].items()]
    w0 = max([len(v[0]) for v in verdicts] + [20])
    w1 = max([len(v[1]) for v in verdicts] + [8])
    print(f"TARGETS, all scripts\n{'-' * 110}")
    print(verdict_lines(verdicts, w0, w1), end="")
    if failed:
        print(f"  not measured: {', '.join(failed)} failed")
    figures["total_s"] = time.perf_counter() - started
    print(f"\n(total benchmark time {figures['total_s']:.0f} s)")
    if args.json:
        print(json.dumps(figures, ensure_ascii=False))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
