#!/usr/bin/env python3
"""Benchmark misp-actor-enrich: resolve, the misp-modules handler, start-up and a real server.

    python benchmarks/bench.py            # full run (about a minute)
    python benchmarks/bench.py --quick    # short run (under ~30 s), noisier figures
    python benchmarks/bench.py --json     # also print the figures as one JSON line at the end
    python benchmarks/bench.py --profile  # also cProfile dict_handler (cold and warm) and print the top costs

It only measures and prints; nothing here fails on a slow figure. Every figure is
taken on the same query set (benchmarks/queries.txt, ~60 realistic actor names), and
each target is printed next to its figure with an honest PASS/MISS. Servers are
started on 127.0.0.1 only, on ports picked by binding port 0, and always terminated.
Progress goes to stderr; the table (and the JSON line) go to stdout.
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import gc
import http.client
import io
import json
import os
import pstats
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Sequence

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
QUERIES_FILE = HERE / "queries.txt"
PAYLOAD_DIR = Path(os.environ.get("MISP_ACTOR_ENRICH_PAYLOADS", "/work/shared/payloads"))
UI_PAYLOAD = PAYLOAD_DIR / "a_ui_attribute_enrichment.json"
PYTHON = sys.executable
BIN = Path(PYTHON).parent
MODULE = "actor_enrich"
TRIVIAL = "trivial_echo"
CANNED = "canned_reply"

TARGETS = {
    "resolve_p50_us": 20.0,             # uncached resolve p50 <= 20 us
    "speedup_vs_pymispgalaxies": 25.0,  # >= 25x faster than pymispgalaxies' threat-actor search (p50)
    "handler_p50_ms": 3.0,              # dict_handler p50 <= 3 ms
    "first_query_s": 1.0,               # first query in a fresh process <= 1 s
    "startup_added_s": 0.15,            # misp-modules start-up added by -c <modules root> <= 0.15 s
    "throughput_ratio": 0.70,           # /query req/s >= 70 % of a trivial module's on the same server
}

# The correctness comparison with pymispgalaxies shows these queries.
SHOWCASE = ("APT3", "APT-37", "APT 37", "ＡＰＴ３７", "Reaper", "Fancy Bear", "Threat Group-3390",
            "the Kimsuky group", "Turla (Russia)", "Grizzly Steppe", "ScarKruft", "Kimsukky")

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


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# --- query set and payloads ----------------------------------------------------------------------


def load_queries(path: Path) -> list[tuple[str, str]]:
    """(category, query) pairs; a '# Heading' comment line names the category of what follows."""
    out: list[tuple[str, str]] = []
    category = "uncategorised"
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        if line.lstrip().startswith("#"):
            heading = line.lstrip("# ").strip()
            if heading and not heading.lower().startswith("fixed query set"):
                category = heading
            continue
        out.append((category, line.strip()))
    if not out:
        raise SystemExit(f"no queries in {path}")
    return out


def ui_payload(value: str, config: dict[str, Any] | None) -> dict[str, Any]:
    """The a_ui payload (UI 'Add enrichment') with the attribute value replaced."""
    payload: dict[str, Any] = copy.deepcopy(json.loads(UI_PAYLOAD.read_text(encoding="utf-8")))
    payload["attribute"]["value"] = value
    payload["attribute"]["value1"] = value
    if config is None:
        payload.pop("config", None)
    else:
        payload["config"] = config
    return payload


def default_config() -> dict[str, Any]:
    from misp_actor_enrich.misp.module import moduleconfig
    return {key: None for key in moduleconfig}  # what MISP sends when no setting was ever saved


def aliases_config() -> dict[str, Any]:
    return {**default_config(), "include_aliases_as_attributes": "1"}


# --- statistics ---------------------------------------------------------------------------------


def pct(sorted_values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, int(round(p / 100.0 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


def summary(samples_ns: Sequence[int], scale: float) -> dict[str, float]:
    values = sorted(s / scale for s in samples_ns)
    return {"n": len(values), "p50": pct(values, 50), "p90": pct(values, 90), "p99": pct(values, 99),
            "mean": statistics.fmean(values), "max": values[-1]}


def time_calls(fn: Callable[[Any], Any], args: Sequence[Any], rounds: int) -> list[int]:
    """Per-call wall time in ns over ``rounds`` passes of ``args``."""
    clock = time.perf_counter_ns
    samples: list[int] = []
    append = samples.append
    for _ in range(rounds):
        for a in args:
            t0 = clock()
            fn(a)
            append(clock() - t0)
    return samples


def clear_caches() -> list[str]:
    """Forget every per-name memo, so the next query costs what a never-seen name costs.

    Uses internals when present (resolve's lru_cache, the rendered-answer cache, the
    per-actor targeting memo); returns the names of the caches it cleared.
    """
    from misp_actor_enrich.core import knowledge
    from misp_actor_enrich.misp import results as misp_output

    cleared = []
    known = knowledge.current()
    cache_clear = getattr(getattr(known.index, "resolve", None), "cache_clear", None)
    if cache_clear is not None:
        cache_clear()
        cleared.append("AliasIndex.resolve lru_cache")
    for owner, label, attr in ((misp_output, "misp_output", "_rendered"), (known, "Knowledge", "_targeting")):
        memo = getattr(owner, attr, None)
        if isinstance(memo, dict):
            memo.clear()
            cleared.append(f"{label}.{attr}")
    return cleared


def time_cold(fn: Callable[[Any], Any], args: Sequence[Any], rounds: int) -> list[int]:
    """Like time_calls, with every per-name cache cleared (untimed) before each call."""
    clock = time.perf_counter_ns
    samples: list[int] = []
    for _ in range(rounds):
        for a in args:
            clear_caches()
            t0 = clock()
            fn(a)
            samples.append(clock() - t0)
    return samples


# --- table --------------------------------------------------------------------------------------


class Report:
    """Sections of rows (metric, value, target, verdict, info), then a summary of every target."""

    def __init__(self) -> None:
        self.sections: list[tuple[str, list[tuple[str, str, str, str, str]], list[str]]] = []
        self.figures: dict[str, Any] = {}
        self.verdicts: list[tuple[str, str, str, str, str]] = []

    def section(self, title: str) -> None:
        self.sections.append((title, [], []))

    def row(self, metric: str, value: str, info: str = "", *, target: str = "", verdict: str = "") -> None:
        entry = (metric, value, target, verdict, info)
        self.sections[-1][1].append(entry)
        if verdict:
            self.verdicts.append(entry)

    def note(self, text: str) -> None:
        self.sections[-1][2].append(text)

    def check(self, metric: str, value: float, fmt: str, target: float, op: str, unit: str = "",
              info: str = "") -> str:
        ok = value <= target if op == "<=" else value >= target
        verdict = "PASS" if ok else "MISS"
        self.row(metric, fmt.format(value) + unit, info, target=f"{op} {fmt.format(target)}{unit}", verdict=verdict)
        return verdict

    def render(self) -> str:
        rows = [r for _, section_rows, _ in self.sections for r in section_rows]
        w0 = max([len(r[0]) for r in rows] + [20])
        w1 = max([len(r[1]) for r in rows] + [8])
        w2 = max([len(r[2]) for r in rows] + [6])
        rule = "-" * 110
        out = io.StringIO()
        for title, section_rows, notes in self.sections:
            out.write(f"\n{title}\n{rule}\n")
            for metric, value, target, verdict, info in section_rows:
                out.write(f"  {metric:<{w0}}  {value:>{w1}}  {target:<{w2}}  {verdict:4}  {info}".rstrip() + "\n")
            for text in notes:
                out.write(f"  * {text}\n")
        out.write(f"\nTARGETS\n{rule}\n")
        for metric, value, target, verdict, _ in self.verdicts:
            out.write(f"  {verdict:4}  {metric:<{w0}}  {value:>{w1}}  {target}\n")
        passed = sum(r[3] == "PASS" for r in self.verdicts)
        out.write(f"  {passed}/{len(self.verdicts)} targets met\n")
        return out.getvalue()


# --- 1. resolve ---------------------------------------------------------------------------------


def bench_resolve(report: Report, queries: list[tuple[str, str]], rounds: int) -> float:
    import misp_actor_enrich
    from misp_actor_enrich.core import knowledge

    log("building the knowledge (first knowledge.current())")
    t0 = time.perf_counter()
    known = knowledge.current()
    build_s = time.perf_counter() - t0
    names = [q for _, q in queries]
    index = known.index
    # The first miss builds the deletion index used for suggestions: time it on its own.
    t0 = time.perf_counter()
    index._resolve("Zzqxv Kitten Panda")
    deletions_s = time.perf_counter() - t0
    counts: dict[str, int] = {}
    for q in names:
        status = index._resolve(q).status.value
        counts[status] = counts.get(status, 0) + 1

    log(f"resolve: {rounds} rounds x {len(names)} queries, uncached and cached")
    gc.collect()
    uncached = time_calls(index._resolve, names, rounds)
    for q in names:
        misp_actor_enrich.resolve(q)  # fill the cache: the cached figure is the steady state
    gc.collect()
    cached = time_calls(misp_actor_enrich.resolve, names, rounds)
    u = summary(uncached, 1e3)
    c = summary(cached, 1e3)
    by_category: dict[str, list[int]] = {}
    for i, sample in enumerate(uncached):
        by_category.setdefault(queries[i % len(names)][0], []).append(sample)

    report.section(f"1. resolve ({len(names)} queries x {rounds} rounds; µs per call)")
    report.row("knowledge build (first current())", f"{build_s * 1e3:.0f} ms")
    report.row("suggestion index build (first miss)", f"{deletions_s * 1e3:.0f} ms")
    report.row("actors / indexed names", f"{len(known.actors)} / {index.name_count}")
    report.check("resolve p50, uncached (index._resolve)", u["p50"], "{:.1f}", TARGETS["resolve_p50_us"], "<=",
                 " µs", info=f"p99 {u['p99']:.1f} µs, mean {u['mean']:.1f} µs, max {u['max']:.0f} µs")
    report.row("resolve p50, cached (resolve())", f"{c['p50']:.2f} µs", f"p99 {c['p99']:.2f} µs")
    for category, samples in by_category.items():
        s = summary(samples, 1e3)
        report.row(f"  uncached, {category}", f"{s['p50']:.1f} µs", f"p99 {s['p99']:.1f} µs")
    report.note("statuses on the query set: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    report.figures["resolve"] = {"uncached_us": u, "cached_us": c, "knowledge_build_ms": build_s * 1e3,
                                 "suggestion_index_build_ms": deletions_s * 1e3,
                                 "actors": len(known.actors), "indexed_names": index.name_count,
                                 "by_category_uncached_us": {k: summary(v, 1e3) for k, v in by_category.items()},
                                 "statuses": counts}
    return u["p50"]


# --- 2 and 7. handler ---------------------------------------------------------------------------


def bench_handler(report: Report, queries: list[tuple[str, str]], rounds: int, bulk_rounds: int) -> None:
    from misp_actor_enrich.misp import module

    names = [q for _, q in queries]
    configs = {"default config": default_config(), "aliases=1": aliases_config()}
    report.section(f"2. dict_handler on a_ui payloads ({len(names)} queries x {rounds} rounds; ms per call)")
    figures: dict[str, Any] = {}
    errors: list[str] = []
    for label, config in configs.items():
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

    # 7. bulk: attributes enriched per second, dict_handler in a plain loop over the query set.
    report.section(f"7. bulk enrichment: dict_handler in a loop ({len(names)} queries x {bulk_rounds} rounds)")
    bulk: dict[str, float] = {}
    for label, config in configs.items():
        payloads = [ui_payload(q, config) for q in names]
        for p in payloads:  # the stage breakdown left the caches cold: warm them, untimed
            module.dict_handler(p)
        gc.collect()
        t0 = time.perf_counter()
        for _ in range(bulk_rounds):
            for p in payloads:
                module.dict_handler(p)
        rate = len(payloads) * bulk_rounds / (time.perf_counter() - t0)
        bulk[f"warm, {label}"] = rate
        report.row(f"attributes / s, warm, {label}", f"{rate:,.0f} /s", "names repeat: answers from the caches")
        cold_rounds = max(1, bulk_rounds // 3)
        spent_ns = sum(time_cold(module.dict_handler, payloads, cold_rounds))
        rate = len(payloads) * cold_rounds / (spent_ns / 1e9)
        bulk[f"cold, {label}"] = rate
        report.row(f"attributes / s, cold, {label}", f"{rate:,.0f} /s", "every name new (cache clearing untimed)")
    report.figures["bulk_attributes_per_s"] = bulk


def handler_stages(names: Sequence[str], rounds: int) -> dict[str, dict[str, float]]:
    """Mean ms per cold query of each step of ``module._answer``, plus misp-modules' own serialisation."""
    import orjson
    from pymisp.abstract import pymisp_json_default

    from misp_actor_enrich.core import knowledge
    from misp_actor_enrich.core.answer import answer
    from misp_actor_enrich.misp import module
    from misp_actor_enrich.misp.results import results

    known = knowledge.current()
    payloads = [ui_payload(q, default_config()) for q in names]
    clock = time.perf_counter_ns
    keys = ["parse_request (payload + config)",
            "resolve (uncached index._resolve)",
            "answer() (policy + targeting, cold)",
            "misp_output.results(), first time (PyMISP render)",
            "misp_output.results(), same answer again (cached, restamped)",
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


# --- 3. fresh process ---------------------------------------------------------------------------

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
    report.section(f"3. fresh process: `python -c` imports the module, then handles one a_ui payload (median of {runs})")
    report.row("import misp_actor_enrich.misp.module", f"{med['import_s'] * 1e3:.0f} ms")
    report.check("first query (builds the knowledge)", med["first_query_s"], "{:.2f}", TARGETS["first_query_s"],
                 "<=", " s", info="runs: " + ", ".join(f"{r['first_query_s']:.2f}" for r in rows))
    report.row("whole process, wall (interpreter start included)", f"{med['process_wall_s']:.2f} s")
    if any(r.get("error") for r in rows):
        report.note(f"the first query answered with an error: {rows[0].get('error')}")
    report.figures["fresh_process_s"] = {**med, "runs": rows}


# --- misp-modules servers -----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def misp_modules_command(port: int, root: Path | None) -> list[str]:
    script = BIN / "misp-modules"
    command = [str(script)] if script.exists() else [PYTHON, "-m", "misp_modules"]
    command += ["-l", "127.0.0.1", "-p", str(port)]
    if root is not None:
        command += ["-c", str(root)]
    return command


class Server:
    """One misp-modules process on 127.0.0.1; always terminated by ``stop`` (use as a context manager)."""

    _live: set["Server"] = set()

    def __init__(self, root: Path | None, log_dir: Path) -> None:
        self.port = free_port()
        self.root = root
        self.log_path = log_dir / f"misp-modules-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.modules: list[str] = []

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def start(self, timeout: float = 60.0) -> float:
        """Spawn, then poll GET /modules until it answers 200; returns seconds from spawn."""
        with open(self.log_path, "wb") as logfile:
            t0 = time.perf_counter()
            self.proc = subprocess.Popen(misp_modules_command(self.port, self.root), stdout=logfile,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         cwd=tempfile.gettempdir())
        Server._live.add(self)
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"misp-modules exited with {self.proc.returncode}; log: {self.log_tail()}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/modules")
                response = conn.getresponse()
                body = response.read()
                conn.close()
                if response.status == 200:
                    ready = time.perf_counter() - t0
                    self.modules = [m["name"] for m in json.loads(body)]
                    return ready
            except (OSError, http.client.HTTPException):
                pass
            if time.perf_counter() - t0 > timeout:
                raise RuntimeError(f"misp-modules did not answer /modules within {timeout} s; log: {self.log_tail()}")
            time.sleep(0.005)

    def log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-600:]
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        Server._live.discard(self)

    @classmethod
    def stop_all(cls) -> None:
        for server in list(cls._live):
            server.stop()


def post_query(conn: http.client.HTTPConnection, body: bytes) -> bytes:
    conn.request("POST", "/query", body=body, headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    data = response.read()
    if response.status != 200:
        raise RuntimeError(f"/query answered HTTP {response.status}: {data[:200]!r}")
    return data


# --- 4. start-up --------------------------------------------------------------------------------


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
    report.section(f"4. misp-modules start-up: spawn until GET /modules answers (median of {runs}, interleaved)")
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


# --- 5. /query throughput -----------------------------------------------------------------------


def hammer(port: int, bodies: Sequence[bytes], requests: int, concurrency: int) -> tuple[float, list[int], int]:
    """``requests`` POSTs over ``concurrency`` keep-alive connections; (elapsed s, latencies ns, error replies)."""
    latencies: list[int] = []
    failures: list[BaseException] = []
    errors = [0]
    lock = threading.Lock()
    counter = iter(range(requests))
    start = threading.Barrier(concurrency + 1)

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine: list[int] = []
        bad = 0
        try:
            start.wait()
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
    start.wait()
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

    trivial_label = f"{TRIVIAL} (a_ui payload)"
    ours_label = f"{MODULE} (a_ui payload, 'Reaper')"
    mix_label = f"{MODULE} (query-set mix, default config)"
    canned_label = f"{CANNED} (actor_enrich's reply, no work)"
    runs = {trivial_label: [json.dumps({**a_ui, "module": TRIVIAL, "config": {}}).encode()],
            ours_label: [json.dumps(a_ui).encode()],
            mix_label: [json.dumps(ui_payload(q, default_config())).encode() for _, q in queries],
            canned_label: [json.dumps({**a_ui, "module": CANNED, "config": {}}).encode()]}

    serial = {f"{trivial_label}, concurrency 1": runs[trivial_label],
              f"{ours_label}, concurrency 1": runs[ours_label]}
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
    ratio = rates[ours_label] / rates[trivial_label]
    report.section(f"5. /query on one real misp-modules server ({requests} requests per module, "
                   f"concurrency {concurrency}, keep-alive http.client)")
    for label in elapsed:
        spread = summary(latencies[label], 1e6)
        report.row(f"req/s, {label}", f"{rates[label]:,.0f} /s",
                   f"latency p50 {spread['p50']:.1f} / p99 {spread['p99']:.1f} ms; server CPU "
                   f"{cpu_per_request_ms[label]:.2f} ms/req")
    report.check(f"ratio {MODULE} / {TRIVIAL}", ratio * 100, "{:.0f}", TARGETS["throughput_ratio"] * 100, ">=", " %")
    report.row(f"ratio query-set mix / {TRIVIAL}", f"{rates[mix_label] / rates[trivial_label] * 100:.0f} %")
    report.row(f"ratio {CANNED} / {TRIVIAL}", f"{rates[canned_label] / rates[trivial_label] * 100:.0f} %",
               "ceiling for a reply this size: only serialising and moving it")
    report.note("the client runs in this process on the same machine; every module pays the same client cost")
    if any(error_replies.values()):
        report.note("error replies: " + ", ".join(f"{k}: {v}" for k, v in error_replies.items() if v))
    report.figures["throughput"] = {"req_per_s": rates, "ratio": ratio, "requests": requests,
                                    "server_cpu_ms_per_request": cpu_per_request_ms,
                                    "concurrency": concurrency, "error_replies": error_replies,
                                    "latency_ms": {k: summary(v, 1e6) for k, v in latencies.items()}}


# --- 6. pymispgalaxies --------------------------------------------------------------------------


def bench_pymispgalaxies(report: Report, queries: list[tuple[str, str]], rounds: int, all_galaxy_queries: int,
                         our_p50_us: float) -> None:
    from pymispgalaxies import Clusters  # type: ignore[attr-defined]

    from misp_actor_enrich.core import knowledge

    log("pymispgalaxies: loading Clusters()")
    t0 = time.perf_counter()
    clusters = Clusters()
    load_s = time.perf_counter() - t0
    actors = clusters["threat-actor"]
    names = [q for _, q in queries]
    for q in names[:5]:
        actors.search(q)
    log(f"pymispgalaxies: threat-actor search, {rounds} rounds")
    gc.collect()
    ta = summary(time_calls(actors.search, names, rounds), 1e3)
    subset = names[:: max(1, len(names) // all_galaxy_queries)][:all_galaxy_queries]
    log(f"pymispgalaxies: Clusters().search on {len(subset)} queries")
    everywhere = summary(time_calls(clusters.search, subset, 1), 1e3)
    speedup = ta["p50"] / our_p50_us

    report.section("6. pymispgalaxies search on the same queries (µs per call)")
    report.row("Clusters() load", f"{load_s:.2f} s")
    report.row("Clusters()['threat-actor'].search p50", f"{ta['p50']:,.0f} µs",
               f"p99 {ta['p99']:,.0f} µs; {len(names)} queries x {rounds}")
    report.row("Clusters().search (all galaxies) p50", f"{everywhere['p50']:,.0f} µs",
               f"p99 {everywhere['p99']:,.0f} µs; {len(subset)} queries x 1")
    report.check("speed-up: threat-actor search / our uncached resolve", speedup, "{:.0f}",
                 TARGETS["speedup_vs_pymispgalaxies"], ">=", "x", info="ratio of p50s")
    report.row("speed-up: all-galaxy search / our uncached resolve", f"{everywhere['p50'] / our_p50_us:,.0f}x")

    # Correctness: a substring search is not an answer.
    known = knowledge.current()
    single_hit_right = 0
    for q in names:
        hits = actors.search(q)
        ours = known.index._resolve(q)
        if ours.status.value == "resolved" and len(hits) == 1 and any(
                c.value == hits[0].value for c in ours.candidates[0].actor.clusters if c.galaxy == "threat-actor"):
            single_hit_right += 1
    resolved = sum(known.index._resolve(q).status.value == "resolved" for q in names)
    report.row("queries with exactly one, agreeing threat-actor hit", f"{single_hit_right}/{len(names)}",
               f"ours: resolved {resolved}/{len(names)}, the rest ambiguous, suggested or unknown")
    report.note("pymispgalaxies threat-actor search (case-insensitive substring) vs our resolve:")
    table = []
    qw = max(len(repr(q)) for q in SHOWCASE)
    for q in SHOWCASE:
        hit_names = [h.value for h in actors.search(q)]
        ours = known.index._resolve(q)
        actor = " | ".join(c.actor.name for c in ours.candidates[:3])
        shown = ", ".join(hit_names[:3]) + (f", +{len(hit_names) - 3}" if len(hit_names) > 3 else "")
        table.append({"query": q, "hits": len(hit_names), "status": ours.status.value, "actor": actor})
        report.note(f"  {q!r:<{qw}} {len(hit_names):3} hits [{shown}]".ljust(qw + 52)
                    + f" vs {ours.status.value} {actor}".rstrip())
    report.figures["pymispgalaxies"] = {"load_s": load_s, "threat_actor_search_us": ta,
                                        "all_galaxies_search_us": everywhere, "speedup_threat_actor": speedup,
                                        "speedup_all_galaxies": everywhere["p50"] / our_p50_us,
                                        "single_agreeing_hit": single_hit_right, "ours_resolved": resolved,
                                        "showcase": table}


# --- main ---------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="short run (under ~30 s), noisier figures")
    parser.add_argument("--json", action="store_true", help="also print all figures as one JSON line at the end")
    parser.add_argument("--profile", action="store_true", help="also cProfile dict_handler and print the top costs")
    parser.add_argument("--queries", type=Path, default=QUERIES_FILE, help="query file (default: %(default)s)")
    parser.add_argument("--skip-server", action="store_true", help="skip sections 4 and 5 (no misp-modules servers)")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(REPO))  # run from a checkout even without the editable install
    from misp_actor_enrich import __version__
    from misp_actor_enrich.cli.main import modules_root

    queries = load_queries(args.queries)
    quick = args.quick
    plan = {
        "resolve_rounds": 40 if quick else 300,
        "handler_rounds": 4 if quick else 20,
        "bulk_rounds": 3 if quick else 15,
        "fresh_runs": 3 if quick else 5,
        "startup_runs": 2 if quick else 3,
        "requests": 400 if quick else 2000,
        "concurrency": 8,
        "pmg_rounds": 2 if quick else 10,
        "pmg_all_queries": 6 if quick else 30,
    }
    report = Report()
    started = time.perf_counter()
    header = (f"misp-actor-enrich {__version__} benchmark ({'quick' if quick else 'full'} run): Python "
              f"{sys.version.split()[0]}, {os.cpu_count()} CPUs, {len(queries)} queries from {args.queries.name}")
    log(header)
    work = Path(tempfile.mkdtemp(prefix="misp-actor-enrich-bench-"))
    profile = None
    try:
        our_p50 = bench_resolve(report, queries, plan["resolve_rounds"])
        bench_handler(report, queries, plan["handler_rounds"], plan["bulk_rounds"])
        bench_fresh(report, plan["fresh_runs"])
        if not args.skip_server:
            bench_startup(report, plan["startup_runs"], work, modules_root())
            bench_throughput(report, queries, plan["requests"], plan["concurrency"], work, modules_root())
        bench_pymispgalaxies(report, queries, plan["pmg_rounds"], plan["pmg_all_queries"], our_p50)
        if args.profile:
            profile = profile_handler(queries, 2 if quick else 5)
    finally:
        Server.stop_all()
        shutil.rmtree(work, ignore_errors=True)
    report.sections.sort(key=lambda s: s[0])  # numbered order (7 is measured along with 2)
    elapsed = time.perf_counter() - started
    print(header)
    print(report.render(), end="")
    print(f"\n(total benchmark time {elapsed:.0f} s)")
    if profile:
        print("\ncProfile of dict_handler (default config, whole query set)" + profile)
    if args.json:
        report.figures["plan"] = plan
        report.figures["targets"] = TARGETS
        report.figures["verdicts"] = {r[0]: {"value": r[1], "target": r[2], "verdict": r[3]} for r in report.verdicts}
        report.figures["total_s"] = elapsed
        print(json.dumps(report.figures, ensure_ascii=False, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
