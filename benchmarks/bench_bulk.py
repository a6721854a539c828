#!/usr/bin/env python3
"""Benchmark ``enrich-events`` in bulk mode: threat-actor attributes enriched per second.

    python benchmarks/bench_bulk.py                 # 200 events x 5 attributes
    python benchmarks/bench_bulk.py --events 50 --per-event 3 --json

MISP is the loopback stand-in from tests/misp_standin.py (not MISP: it answers the
REST endpoints PyMISP uses with MISP's response shapes and keeps events in memory),
served from a thread of this process, so its own CPU time counts against the figure:
against a real MISP the client side is cheaper and MISP's database is the limit.
Figures: a dry run (search, fetch, plan; no writes), the real run (every write over
HTTP), and a second run (idempotent: fetch and plan, zero writes). Names come from
benchmarks/queries.txt, so ambiguous, near-miss and unknown names are in the mix.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from timing import REPO, load_queries, timed_knowledge

sys.path.insert(0, str(REPO / "tests"))

from misp_standin import KEY, StandIn  # noqa: E402

from misp_actor_enrich.cli.main import main as cli_main  # noqa: E402


def timed_run(misp: StandIn, state: Path, *extra: str) -> tuple[float, dict[str, Any]]:
    out = io.StringIO()
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        cli_main(["enrich-events", "--url", misp.url, "--all", "--state", str(state), "--json", *extra])
    elapsed = time.perf_counter() - t0
    report: dict[str, Any] = json.loads(out.getvalue())
    return elapsed, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--per-event", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="also print the figures as one JSON line")
    args = parser.parse_args()
    os.environ["MISP_KEY"] = KEY
    os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp()      # no site config file
    _, build = timed_knowledge()
    pool = [q for _, q in load_queries()]
    figures: dict[str, Any] = {"events": args.events, "attributes_per_event": args.per_event,
                               "knowledge_build_s": round(build, 2)}
    with StandIn() as misp, tempfile.TemporaryDirectory() as tmp:
        for n in range(args.events):
            values = [pool[(n * args.per_event + i) % len(pool)] for i in range(args.per_event)]
            misp.add_event(f"bench {n}", [{"type": "threat-actor", "category": "Attribution", "value": v}
                                          for v in values])
        attributes = args.events * args.per_event
        state = Path(tmp) / "state.json"
        for label, extra in (("dry_run", ("--dry-run",)), ("run", ()), ("second_run", ())):
            writes_before = len(misp.writes)
            elapsed, report = timed_run(misp, state, *extra)
            figures[label] = {
                "seconds": round(elapsed, 3), "attributes_per_s": round(attributes / elapsed, 1),
                "events_per_s": round(args.events / elapsed, 1), "writes": len(misp.writes) - writes_before,
                "resolved": report["actors_resolved"], "left_for_human": len(report["left_for_human"]),
                "failed": report["events_failed"],
            }
    print(f"bulk enrich-events against the loopback MISP stand-in: {args.events} events x "
          f"{args.per_event} threat-actor attributes ({attributes}); galaxy knowledge built in {build:.2f} s")
    print(f"{'':12} {'seconds':>8} {'attr/s':>8} {'events/s':>9} {'writes':>7} {'resolved':>9} {'for human':>10}")
    for label in ("dry_run", "run", "second_run"):
        f = figures[label]
        print(f"{label:12} {f['seconds']:8.2f} {f['attributes_per_s']:8.0f} {f['events_per_s']:9.0f} "
              f"{f['writes']:7} {f['resolved']:9} {f['left_for_human']:10}")
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
