"""A real misp-modules server, started by `misp-actor-enrich serve` on a free loopback port."""

from __future__ import annotations

import json
import queue
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests
from conftest import PAYLOADS
from misp_checks import check_misp_standard

from misp_actor_enrich.version import __version__

INPUT_UUID = "9f2b7c1e-4d3a-4e8b-a6c5-2f1e0d9c8b7a"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _serve(port: int, log: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "misp_actor_enrich", "serve", "--listen", "127.0.0.1", "--port", str(port),
         "--log", str(log), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _banner(process: subprocess.Popen[str], timeout: float = 90) -> list[str]:
    """serve's lines up to the one that says how to try it (it is ready then)."""
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            break
        if line is None:
            break
        seen.append(line)
        if line.startswith("try it:"):
            return seen
    pytest.fail(f"serve was not ready (exit {process.poll()}): {seen}")


def _stop(process: subprocess.Popen[str]) -> int:
    process.terminate()
    try:
        return process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        raise


@pytest.fixture(scope="module")
def started(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[str], Path]]:
    port = _free_port()
    log = tmp_path_factory.mktemp("serve") / "misp-modules.log"
    process = _serve(port, log)
    try:
        yield f"http://127.0.0.1:{port}", _banner(process), log
    finally:
        _stop(process)


@pytest.fixture(scope="module")
def server(started: tuple[str, list[str], Path]) -> str:
    return started[0]


def _query(url: str, body: Any) -> dict[str, Any]:
    response = requests.post(f"{url}/query", json=body, timeout=10)
    assert response.status_code == 200
    data: dict[str, Any] = response.json()
    return data


def test_modules_lists_actor_enrich(server: str) -> None:
    modules = requests.get(f"{server}/modules", timeout=10).json()
    (entry,) = [m for m in modules if m["name"] == "actor_enrich"]
    assert entry["type"] == "expansion"
    assert entry["mispattributes"]["format"] == "misp_standard"
    assert "threat-actor" in entry["mispattributes"]["input"]
    assert entry["meta"]["module-type"] == ["expansion", "hover"]
    assert all(isinstance(k, str) for k in entry["meta"]["config"])


@pytest.mark.parametrize("name", sorted(p.name for p in PAYLOADS.glob("*.json") if not p.name.startswith("response")))
def test_query_answers_every_misp_payload(server: str, name: str) -> None:
    body = _query(server, json.loads((PAYLOADS / name).read_text()))
    event = check_misp_standard(body, input_uuid=INPUT_UUID)
    assert {o.name for o in event.objects} == {"intrusion-set", "victim"}


def test_query_no_match_and_bad_input(server: str) -> None:
    request = json.loads((PAYLOADS / "a_ui_attribute_enrichment.json").read_text())
    request["attribute"]["value"] = "Definitely Not An Actor"
    assert _query(server, request) == {"results": {}}
    request["attribute"]["type"] = "domain"
    error = _query(server, request)["error"]
    assert "unsupported type 'domain'" in error and "Something went wrong" not in error
    assert "missing 'attribute'" in _query(server, {"module": "actor_enrich"})["error"]


def test_serve_prints_a_few_lines_ending_with_how_to_try_it(started: tuple[str, list[str], Path]) -> None:
    url, banner, log = started
    assert len(banner) <= 5, banner
    assert banner[0] == f"misp-modules' own log: {log}"
    assert f"actor_enrich {__version__} is registered" in banner[-2] and url in banner[-2]
    # misp-modules' banner and its per-module lines went to the log, not to the terminal
    text = log.read_text(encoding="utf-8")
    assert "CUSTOM MISP module actor_enrich (type=expansion) imported" in text
    assert "WARNING" in text and not any("WARNING" in line for line in banner)


def test_the_printed_try_command_answers(started: tuple[str, list[str], Path]) -> None:
    url, banner, _ = started
    match = re.fullmatch(r"try it: curl -s (\S+) -d '(.*)'", banner[-1])
    assert match and match.group(1) == f"{url}/query"
    body = _query(url, json.loads(match.group(2)))
    assert 'misp-galaxy:threat-actor="APT37"' in {t["name"] for t in body["results"]["Tag"]}


def test_a_busy_port_is_one_line_and_exit_4(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "misp_actor_enrich", "serve", "--port", str(port),
                               "--log", str(tmp_path / "log")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 4
    assert done.stdout == "" and done.stderr.count("\n") == 1, done.stderr
    assert f"127.0.0.1:{port} is already in use" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "log").exists()          # misp-modules was never started


def test_sigterm_stops_misp_modules_too(tmp_path: Path) -> None:
    port = _free_port()
    process = _serve(port, tmp_path / "log")
    _banner(process)
    assert _stop(process) == 0
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/healthcheck", timeout=2)


LOG = Path("/var/log/misp-modules.log")


@pytest.mark.parametrize(("reason", "lines", "code", "says"), [
    ("exited", ["2026-01-01 00:00:00,000 - misp-modules - ERROR - Could not listen on 127.0.0.1:6666"], 4,
     "127.0.0.1:6666 is already in use (another misp-modules?); stop it or choose another port: --port 6667 "
     "(make serve PORT=6667)"),
    ("missing", ["2026-01-01 00:00:00,000 - misp-modules - WARNING - CUSTOM MISP module actor_enrich "
                 "(type=expansion) failed: No module named 'misp_actor_enrich'"], 3,
     "misp-modules started but did not register actor_enrich: CUSTOM MISP module actor_enrich (type=expansion) "
     "failed: No module named 'misp_actor_enrich'; its log: /var/log/misp-modules.log"),
    ("exited", ["x - misp-modules - INFO - starting", "SyntaxError: invalid syntax"], 3,
     "misp-modules exited with code 1 while starting; its log: /var/log/misp-modules.log\n  x - misp-modules - "
     "INFO - starting\n  SyntaxError: invalid syntax"),
])
def test_a_start_that_fails_says_why_from_the_log(reason: str, lines: list[str], code: int, says: str) -> None:
    from misp_actor_enrich.cli.serve import start_failure

    assert start_failure(reason, 1, lines, "127.0.0.1", 6666, LOG) == (code, says)
