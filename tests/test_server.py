"""A real misp-modules server, started by `misp-actor-enrich serve` on a free loopback port."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from typing import Any, Iterator

import pytest
import requests
from conftest import PAYLOADS
from misp_checks import check_misp_standard

INPUT_UUID = "9f2b7c1e-4d3a-4e8b-a6c5-2f1e0d9c8b7a"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "misp_actor_enrich", "serve", "--listen", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    try:
        while True:
            if process.poll() is not None:
                pytest.fail(f"misp-modules exited with {process.returncode}:\n{process.stdout.read() if process.stdout else ''}")
            try:
                if requests.get(f"{url}/healthcheck", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("misp-modules did not start within 90 s")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


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
