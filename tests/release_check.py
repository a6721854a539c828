"""The release check (``make dist-check``): the built wheel installs into a clean virtualenv and serves.

    python tests/release_check.py dist/misp_actor_enrich-0.1.0-py3-none-any.whl misp-modules==3.1.1 ...

A new virtualenv (no pip of its own: the calling interpreter's pip installs into it)
gets the wheel and the pinned requirements given after it, nothing from this
checkout. From a working directory outside the checkout, the installed
``misp-actor-enrich serve`` must start misp-modules with actor_enrich registered,
``/modules`` must list it and ``/query`` must answer the UI payload with APT37's
galaxy tag. Exits 0 and prints one line, or 1 saying which step failed.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / "build" / "release-check"
PAYLOAD = REPO / "fixtures" / "payloads" / "a_ui_attribute_enrichment.json"
EXPECTED_TAG = 'misp-galaxy:threat-actor="APT37"'


class CheckFailed(Exception):
    pass


def main(argv: list[str]) -> int:
    if not argv or not argv[0].endswith(".whl"):
        print("usage: release_check.py WHEEL [REQUIREMENT ...]", file=sys.stderr)
        return 2
    wheel, requirements = Path(argv[0]).resolve(), argv[1:]
    started = time.monotonic()
    try:
        python = _install(wheel, requirements)
        _check_imported_from(python)
        served = _serve_and_query(python)
    except CheckFailed as exc:
        print(f"release check FAILED: {exc}", file=sys.stderr)
        return 1
    print(f"release check: {wheel.name} + {' '.join(requirements)} in a clean virtualenv: {served} "
          f"({time.monotonic() - started:.0f} s)")
    return 0


def _install(wheel: Path, requirements: list[str]) -> Path:
    shutil.rmtree(WORK, ignore_errors=True)
    venv = WORK / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], "create the virtualenv")
    python = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-compile",
          "--disable-pip-version-check", str(wheel), *requirements], "install the wheel")
    return python


def _check_imported_from(python: Path) -> None:
    where = _run([str(python), "-c", "import misp_actor_enrich; print(misp_actor_enrich.__file__)"],
                 "import the package", cwd=Path(tempfile.gettempdir())).strip()
    if not where.startswith(str(WORK)):
        raise CheckFailed(f"misp_actor_enrich was imported from {where}, not from the clean virtualenv")


def _serve_and_query(python: Path) -> str:
    port = _free_port()
    command = [str(python.parent / "misp-actor-enrich"), "serve", "--port", str(port),
               "--log", str(WORK / "misp-modules.log")]
    server = subprocess.Popen(command, cwd=tempfile.gettempdir(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, env=_clean_env(WORK))
    try:
        banner = _read_banner(server)
        url = f"http://127.0.0.1:{port}"
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(f"{url}/modules", timeout=30) as response:
            modules = json.loads(response.read())
        if not any(m.get("name") == "actor_enrich" for m in modules):
            raise CheckFailed(f"/modules does not list actor_enrich; banner: {banner}")
        request = urllib.request.Request(f"{url}/query", data=PAYLOAD.read_bytes(),
                                         headers={"Content-Type": "application/json"})
        with opener.open(request, timeout=30) as response:
            answer = json.loads(response.read())
        tags = [t.get("name") for t in answer.get("results", {}).get("Tag", [])]
        if EXPECTED_TAG not in tags:
            raise CheckFailed(f"/query did not answer Reaper with {EXPECTED_TAG}: {str(answer)[:300]}")
        return f"serve listed actor_enrich on /modules and /query answered Reaper with {EXPECTED_TAG}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


def _read_banner(server: subprocess.Popen[str]) -> str:
    lines: list[str] = []
    assert server.stdout is not None
    for line in server.stdout:             # the banner ends with the line to try it
        lines.append(line.rstrip())
        if line.startswith("try it:"):
            return " | ".join(lines)
    raise CheckFailed(f"serve exited with {server.wait()} before it was ready: {' | '.join(lines)}")


def _clean_env(home: Path) -> dict[str, str]:
    """No PYTHONPATH, and config, cache and state of our own: nothing of the developer's leaks in."""
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "MISP_", "XDG_", "VIRTUAL_ENV"))}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / "config"), XDG_CACHE_HOME=str(home / "cache"),
               XDG_STATE_HOME=str(home / "state"), PYTHONDONTWRITEBYTECODE="1")
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _run(command: list[str], what: str, cwd: Path | None = None) -> str:
    done = subprocess.run(command, capture_output=True, text=True, cwd=cwd, timeout=600)
    if done.returncode != 0:
        raise CheckFailed(f"could not {what} (exit {done.returncode}):\n{(done.stderr + done.stdout)[-2000:]}")
    return done.stdout


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
