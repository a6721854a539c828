"""What the benchmark scripts share: the query set, payloads, timing loops, the table, misp-modules servers.

Importing it puts the repository first on ``sys.path``, so the scripts run from a
checkout even without the editable install. Progress goes to stderr (``log``); the
table and the JSON line go to stdout (``finish``).
"""

from __future__ import annotations

import argparse
import copy
import http.client
import io
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Sequence

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
QUERIES_FILE = HERE / "queries.txt"
PAYLOAD_DIR = Path(os.environ.get("MISP_ACTOR_ENRICH_PAYLOADS", str(REPO / "fixtures" / "payloads")))
UI_PAYLOAD = PAYLOAD_DIR / "a_ui_attribute_enrichment.json"
PYTHON = sys.executable
MODULE = "actor_enrich"


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# --- query set, payloads, knowledge --------------------------------------------------------------


def load_queries(path: Path = QUERIES_FILE) -> list[tuple[str, str]]:
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


def timed_knowledge() -> tuple[Any, float]:
    """The process-wide knowledge and the seconds the first ``data.runtime.current()`` took."""
    from misp_actor_enrich.data import runtime

    t0 = time.perf_counter()
    known = runtime.current()
    return known, time.perf_counter() - t0


# --- statistics and timing loops -----------------------------------------------------------------


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


def time_calls(fn: Callable[[Any], Any], args: Sequence[Any], rounds: int, cold: bool = False) -> list[int]:
    """Per-call wall time in ns over ``rounds`` passes of ``args``; ``cold`` clears every cache (untimed) first."""
    clock = time.perf_counter_ns
    samples: list[int] = []
    append = samples.append
    for _ in range(rounds):
        for a in args:
            if cold:
                clear_caches()
            t0 = clock()
            fn(a)
            append(clock() - t0)
    return samples


def time_cold(fn: Callable[[Any], Any], args: Sequence[Any], rounds: int) -> list[int]:
    return time_calls(fn, args, rounds, cold=True)


def clear_caches() -> list[str]:
    """Forget every per-name memo, so the next query costs what a never-seen name costs.

    Uses internals when present (resolve's lru_cache, the rendered-answer cache, the
    per-actor targeting memo); returns the names of the caches it cleared.
    """
    from misp_actor_enrich.data import runtime
    from misp_actor_enrich.misp import results

    cleared = []
    known = runtime.current()
    cache_clear = getattr(getattr(known.index, "resolve", None), "cache_clear", None)
    if cache_clear is not None:
        cache_clear()
        cleared.append("AliasIndex.resolve lru_cache")
    for owner, label, attr in ((results, "misp.results", "_rendered"), (known, "Knowledge", "_targeting")):
        memo = getattr(owner, attr, None)
        if isinstance(memo, dict):
            memo.clear()
            cleared.append(f"{label}.{attr}")
    return cleared


# --- the table and the script frame --------------------------------------------------------------


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
        if self.verdicts:
            out.write(f"\nTARGETS\n{rule}\n")
            out.write(verdict_lines([r[:4] for r in self.verdicts], w0, w1))
        return out.getvalue()


def verdict_lines(verdicts: Sequence[Sequence[str]], w0: int = 20, w1: int = 8) -> str:
    """(metric, value, target, verdict) rows as the TARGETS block, with the count met."""
    lines = [f"  {verdict:4}  {metric:<{w0}}  {value:>{w1}}  {target}\n" for metric, value, target, verdict in verdicts]
    passed = sum(v[3] == "PASS" for v in verdicts)
    return "".join(lines) + f"  {passed}/{len(verdicts)} targets met\n"


def parser(doc: str | None, quick: str) -> argparse.ArgumentParser:
    """The options every script has: --quick and --json."""
    p = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help=f"short run ({quick}), noisier figures")
    p.add_argument("--json", action="store_true", help="also print all figures as one JSON line at the end")
    return p


def start(what: str, quick: bool, queries: Sequence[Any] = (), queries_file: Path = QUERIES_FILE) -> str:
    """Log and return the header line: version, run kind, machine, query set."""
    from misp_actor_enrich import __version__

    header = (f"misp-actor-enrich {__version__} {what} benchmark ({'quick' if quick else 'full'} run): Python "
              f"{sys.version.split()[0]}, {os.cpu_count()} CPUs")
    if queries:
        header += f", {len(queries)} queries from {queries_file.name}"
    log(header)
    return header


def finish(report: Report, header: str, started: float, args: argparse.Namespace, plan: dict[str, Any],
           targets: dict[str, float], extra: str = "") -> int:
    """Print the header, the table, the total time, ``extra``, and with --json the figures as one line."""
    elapsed = time.perf_counter() - started
    print(header)
    print(report.render(), end="")
    print(f"\n(total benchmark time {elapsed:.0f} s)")
    if extra:
        print(extra)
    if args.json:
        report.figures["plan"] = plan
        report.figures["targets"] = targets
        report.figures["verdicts"] = {r[0]: {"value": r[1], "target": r[2], "verdict": r[3]} for r in report.verdicts}
        report.figures["total_s"] = elapsed
        print(json.dumps(report.figures, ensure_ascii=False, default=str))
    return 0


def exit_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit, so ``finally`` blocks still stop servers and child processes."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))


# --- misp-modules servers ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def misp_modules_command(port: int, root: Path | None) -> list[str]:
    script = Path(PYTHON).parent / "misp-modules"
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
