"""A real MISP for the end-to-end tests: brought up from ../shared/misp-live, or an existing test instance.

Where the MISP comes from, in order:
- ``MISP_E2E_URL`` and ``MISP_E2E_KEY``: an existing test instance whose misp-modules already serves
  ``actor_enrich`` (``MISP_E2E_EMAIL``/``MISP_E2E_PASSWORD`` for the browser tests);
- ``../shared/misp-live/bringup.sh`` beside the checkout: a fresh MISP 2.5.1 on free loopback ports,
  with our own misp-modules server, stopped afterwards;
- neither: every e2e test is skipped with one line (``MISP_E2E_REQUIRED=1``, set by CI, makes that
  a failure instead).

Everything here reads what MISP stored through its REST API. MISP 2.5.1 answers some calls with
500 although they worked (``enrichEvent``: a missing JSON view); those calls are checked by reading
the event back, never by their status.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

import requests

ROOT = Path(__file__).resolve().parents[2]
MISP_LIVE = Path(os.environ.get("MISP_LIVE_DIR") or ROOT.parent / "shared" / "misp-live")
ARTIFACTS = Path(os.environ.get("MISP_E2E_ARTIFACTS") or ROOT / "tests" / "e2e" / "artifacts")
MODULE = "actor_enrich"
# bringup.sh's admin account
LOCAL_EMAIL, LOCAL_PASSWORD = "admin@admin.test", "Adm1n-Test-Pass!2024"
ACTOR_GALAXY_PREFIX = "misp-galaxy:"

T = TypeVar("T")


class NoMisp(Exception):
    """No MISP to test against; the message says how to get one."""


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 60.0, every: float = 0.25) -> T:
    """Poll ``probe`` until it returns something other than None/False; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            found = probe()
        except (requests.RequestException, ValueError, KeyError) as exc:   # not up yet, half-written JSON
            found, last = None, exc
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}" + (f" (last: {last})" if last else ""))
        time.sleep(every)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class ModuleServer:
    """Our misp-modules server (``misp-actor-enrich serve``) with its own, empty config and cache."""

    port: int
    home: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def environ(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "MISP_ACTOR_ENRICH_CONFIG"}
        env.update(XDG_CONFIG_HOME=str(self.home / "config"), XDG_CACHE_HOME=str(self.home / "cache"),
                   XDG_STATE_HOME=str(self.home / "state"), HOME=str(self.home))
        return env

    def start(self) -> None:
        log = (ARTIFACTS / "misp-modules.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "misp_actor_enrich", "serve", "--listen", "127.0.0.1", "--port", str(self.port)],
            stdout=log, stderr=subprocess.STDOUT, env=self.environ, start_new_session=True)
        wait_for("misp-modules to list actor_enrich", lambda: MODULE in self.get("/modules").text, timeout=60)

    def get(self, path: str) -> requests.Response:
        return requests.get(f"http://127.0.0.1:{self.port}{path}", timeout=10)

    def query(self, request: dict[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = requests.post(f"http://127.0.0.1:{self.port}/query",
                                               json={"module": MODULE, **request}, timeout=30).json()
        return answer

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


@dataclass
class LiveMisp:
    url: str
    key: str
    email: str | None
    password: str | None
    modules: ModuleServer | None = None       # ours, when we brought MISP up
    local_dir: Path | None = None
    http: requests.Session = field(default_factory=requests.Session)

    def __post_init__(self) -> None:
        self.http.headers.update({"Authorization": self.key, "Accept": "application/json",
                                  "Content-Type": "application/json"})

    # --- REST ---------------------------------------------------------------------------------

    def get(self, path: str) -> Any:
        response = self.http.get(self.url + path, timeout=60)
        response.raise_for_status()
        return response.json()

    def post(self, path: str, body: Any = None, *, check: bool = True) -> requests.Response:
        response = self.http.post(self.url + path, json=body if body is not None else {}, timeout=120)
        if check:
            response.raise_for_status()
        return response

    def pymisp(self) -> Any:
        from pymisp import PyMISP

        return PyMISP(self.url, self.key, ssl=False, timeout=60)

    def new_event(self, info: str, attributes: list[tuple[str, str]]) -> tuple[str, list[dict[str, Any]]]:
        """An event with these (type, value) attributes; returns its id and the stored attributes."""
        categories = {"threat-actor": "Attribution", "text": "Other", "comment": "Other"}
        event = {"Event": {"info": f"e2e {info}", "distribution": "0", "threat_level_id": "2", "analysis": "0",
                           "Attribute": [{"type": t, "value": v, "category": categories[t], "distribution": "5"}
                                         for t, v in attributes]}}
        stored = self.post("/events/add", event).json()["Event"]
        return stored["id"], stored["Attribute"]

    def event(self, event_id: str) -> dict[str, Any]:
        event: dict[str, Any] = self.get(f"/events/view/{event_id}")["Event"]
        return event

    def snapshot(self, event_id: str) -> dict[str, Any]:
        """Everything an enrichment can change in an event, without timestamps."""
        event = self.event(event_id)

        def attr(a: dict[str, Any]) -> tuple[Any, ...]:
            return (a["uuid"], a["type"], a["category"], a["value"], a["to_ids"], a["comment"], a.get("object_relation"),
                    a["distribution"], tuple(sorted(t["name"] for t in a.get("Tag", []))))

        return {
            "attributes": sorted(attr(a) for a in event["Attribute"]),
            "objects": sorted(
                (o["uuid"], o["name"], o.get("comment", ""), tuple(sorted(attr(a) for a in o["Attribute"])),
                 tuple(sorted((r["referenced_uuid"], r["relationship_type"]) for r in o.get("ObjectReference", []))))
                for o in event.get("Object", [])),
            "tags": sorted(t["name"] for t in event.get("Tag", [])),
            "clusters": self.galaxy_clusters(event),
        }

    @staticmethod
    def galaxy_clusters(event: dict[str, Any]) -> list[str]:
        """The tag names of the galaxy clusters MISP attached to the event (at event level)."""
        return sorted(c["tag_name"] for g in event.get("Galaxy", []) for c in g["GalaxyCluster"])

    @staticmethod
    def attribute_count(event: dict[str, Any]) -> int:
        return len(event["Attribute"]) + sum(len(o["Attribute"]) for o in event.get("Object", []))

    def enrich_event(self, event_id: str) -> None:
        """POST /events/enrichEvent: runs inline; MISP 2.5.1 then answers 500 for want of a JSON view."""
        response = self.post(f"/events/enrichEvent/{event_id}", {MODULE: True}, check=False)
        assert response.status_code in (200, 500), response.text[:300]

    def instance_clusters(self, galaxy_types: set[str]) -> set[str]:
        """Tag names of every cluster of these galaxies on the instance: what MISP can attach."""
        names: set[str] = set()
        for galaxy in self.get("/galaxies/index"):
            if galaxy["Galaxy"]["type"] in galaxy_types:
                view = self.get(f"/galaxies/view/{galaxy['Galaxy']['id']}")
                names.update(c["tag_name"] for c in view.get("GalaxyCluster", []))
        return names

    def audit_ids(self, model: str, action: str, model_id: str) -> list[int]:
        logs = self.get(f"/admin/logs/index/model:{model}/action:{action}/model_id:{model_id}")
        return sorted(int(entry["Log"]["id"]) for entry in logs)

    def set_setting(self, name: str, value: Any) -> None:
        self.post(f"/servers/serverSettingsEdit/{name}", {"value": value, "force": 1})

    # --- what our module says, to compare with what MISP stored --------------------------------

    def module_answer(self, value: str, kind: str = "threat-actor") -> dict[str, Any]:
        """What our module answers for this value on the UI path, asked through MISP (its config included)."""
        answer: dict[str, Any] = self.post("/modules/queryEnrichment", {
            "module": MODULE, "event_id": "1",
            "attribute": {"type": kind, "value": value, "uuid": "9f2b7c1e-4d3a-4e8b-a6c5-2f1e0d9c8b7a"}}).json()
        return answer

    def module_tags(self, value: str, kind: str = "threat-actor") -> set[str]:
        results = self.module_answer(value, kind).get("results") or {}   # MISP turns {} into []
        return {t["name"] for t in results.get("Tag", [])}


def source() -> str:
    """Where the MISP will come from, in one line; raises NoMisp when there is none to use."""
    url, key = os.environ.get("MISP_E2E_URL"), os.environ.get("MISP_E2E_KEY")
    if url and key:
        return f"the test instance at {url} (MISP_E2E_URL)"
    if not (MISP_LIVE / "bringup.sh").is_file():
        raise NoMisp(f"no MISP: set MISP_E2E_URL and MISP_E2E_KEY, or put misp-live at {MISP_LIVE}")
    missing = [c for c in ("php", "mariadb-install-db", "redis-server") if shutil.which(c) is None]
    if missing:
        raise NoMisp(f"misp-live needs {', '.join(missing)}: run make e2e-deps (as root)")
    return f"a MISP 2.5.1 brought up from {MISP_LIVE}"


def start() -> Iterator[LiveMisp]:
    """Yield a ready MISP (see the module docstring); raises NoMisp when there is none to use."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    url, key = os.environ.get("MISP_E2E_URL"), os.environ.get("MISP_E2E_KEY")
    if url and key:
        misp = LiveMisp(url.rstrip("/"), key, os.environ.get("MISP_E2E_EMAIL"), os.environ.get("MISP_E2E_PASSWORD"))
        modules = misp.get("/modules/index")
        if not any(m.get("name") == MODULE for m in modules):
            raise NoMisp(f"{url} does not list the {MODULE} module: serve it from its misp-modules and enable it")
        yield misp
        return
    source()
    bringup = MISP_LIVE / "bringup.sh"
    work = Path(tempfile.mkdtemp(prefix="misp-e2e-"))
    modules = ModuleServer(free_port(), work / "modules-home")
    instance = work / "misp"
    try:
        modules.start()
        web, db, redis = free_port(), free_port(), free_port()
        started = time.monotonic()
        done = subprocess.run([str(bringup), str(instance), str(web), str(db), str(redis), str(modules.port)],
                              capture_output=True, text=True, timeout=600)
        (ARTIFACTS / "bringup.log").write_text(done.stdout + done.stderr)
        if done.returncode != 0 or "authkey " not in done.stdout:
            raise RuntimeError(f"bringup.sh failed ({done.returncode}); see {ARTIFACTS / 'bringup.log'}")
        key = done.stdout.strip().splitlines()[-1].split()[-1]
        misp = LiveMisp(f"http://127.0.0.1:{web}", key, LOCAL_EMAIL, LOCAL_PASSWORD, modules, instance)
        misp.set_setting("Plugin.Enrichment_hover_enable", True)
        (ARTIFACTS / "timings.json").write_text(json.dumps({"bringup_s": round(time.monotonic() - started, 1)}))
        yield misp
    finally:
        if (instance / "run").is_dir():
            for log in (instance / "misp" / "app" / "tmp" / "logs").glob("*.log"):
                shutil.copy2(log, ARTIFACTS / f"misp-{log.name}")
            subprocess.run([str(MISP_LIVE / "teardown.sh"), str(instance)], capture_output=True, timeout=60)
        modules.stop()
        shutil.rmtree(work, ignore_errors=True)
