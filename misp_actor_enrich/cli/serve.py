"""``misp-actor-enrich serve`` and ``modules-root``: misp-modules with actor_enrich registered.

``serve`` starts misp-modules as a child process whose own output (its banner, a line
per built-in module, the access log) goes to a log file, waits until ``/modules``
lists actor_enrich, then prints a few lines: the log file, where it listens, and one
command to try it. Ctrl-C or SIGTERM stops both.

Exit codes: 0 stopped on request; 2 usage (an address this machine does not have);
3 misp-modules did not start, stopped by itself, or did not register actor_enrich
(the message quotes its log); 4 the address and port are already in use.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import FrameType
from typing import IO, Any, Mapping

from ..misp.module import MODULE_NAME, modules_root
from ..version import __version__
from .exit_codes import EXIT_OK, EXIT_USAGE

EXIT_FAILED, EXIT_IN_USE = 3, 4
START_TIMEOUT = 120.0          # misp-modules imports ~170 modules first: seconds on a slow disk
LOG_NAME = "misp-modules.log"
EPILOG = ("exit codes: 0 stopped (Ctrl-C, SIGTERM); 2 usage (an address this machine does not have); "
          "3 misp-modules did not start or did not register actor_enrich; 4 address already in use")


def add_parser(subparsers: Any) -> None:
    root = subparsers.add_parser(
        "modules-root", help="print the folder to pass to misp-modules -c",
        description="Print the custom-module root that holds expansion/actor_enrich.py, for an existing "
                    "misp-modules: misp-modules -l 127.0.0.1 -c \"$(misp-actor-enrich modules-root)\"")
    root.set_defaults(run=run_modules_root)

    serve = subparsers.add_parser(
        "serve", help="run misp-modules with the actor_enrich module registered",
        description="Start misp-modules (from this virtualenv) with actor_enrich registered. misp-modules' own "
                    "output goes to a log file; this command prints where it listens and how to try it, and "
                    "runs until Ctrl-C or SIGTERM. misp-modules has no authentication: bind it to localhost or "
                    "a private network.",
        epilog=EPILOG)
    serve.add_argument("--listen", default="127.0.0.1", metavar="ADDR", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=_port, default=6666, metavar="N", help="port (default 6666)")
    serve.add_argument("--log", metavar="FILE", help="misp-modules' own output (default: $XDG_STATE_HOME/"
                       f"misp-actor-enrich/{LOG_NAME}); '-' keeps it on this terminal")
    serve.add_argument("--debug", action="store_true", help="misp-modules debug logging (into the log)")
    serve.set_defaults(run=run_serve)


def run_modules_root(args: argparse.Namespace) -> int:
    print(modules_root())
    return EXIT_OK


def default_log_path(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    base = env.get("XDG_STATE_HOME") or str(Path(env.get("HOME") or Path.home()) / ".local" / "state")
    return Path(base) / "misp-actor-enrich" / LOG_NAME


def run_serve(args: argparse.Namespace) -> int:
    problem = address_problem(args.listen, args.port)
    if problem is not None:
        code, message = problem
        print(f"misp-actor-enrich: {message}", file=sys.stderr)
        return code
    log_path = None if args.log == "-" else Path(args.log).expanduser() if args.log else default_log_path()
    command = [sys.executable, "-m", "misp_modules", "-l", args.listen, "-p", str(args.port),
               "-c", str(modules_root()), *(["-d"] if args.debug else [])]
    log: IO[bytes] | None = None
    if log_path is not None:
        try:
            log_path.parent.mkdir(parents=True, exist_ok=True)
            log = log_path.open("wb")
        except OSError as exc:
            print(f"misp-actor-enrich: --log {log_path}: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_USAGE
    # A session of its own: Ctrl-C reaches only us, and we stop the child in order.
    child = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT if log else None,
                             start_new_session=True)
    if log is not None:
        log.close()
    _stop_on_signals()
    try:
        ready = _wait_until_ready(child, _local_url(args.listen, args.port))
        if ready is not None:
            _stop(child)
            code, message = start_failure(ready, child.returncode, _log_tail(log_path), args.listen, args.port,
                                          log_path)
            print(f"misp-actor-enrich: {message}", file=sys.stderr)
            return code
        _banner(args, log_path)
        code = child.wait()
        print(f"misp-actor-enrich: misp-modules stopped by itself (exit {code})"
              + (f"; see {log_path}" if log_path else ""), file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        _stop(child)
        print("misp-modules stopped.", file=sys.stderr)
        return EXIT_OK


def address_problem(listen: str, port: int) -> tuple[int, str] | None:
    """(exit code, message) when misp-modules could not listen there; None when it can."""
    try:
        addresses = socket.getaddrinfo(listen or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        return EXIT_USAGE, f"--listen {listen}: not an address of this machine ({exc.strerror})"
    for family, kind, proto, _, address in addresses:
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)   # as tornado binds
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                sock.bind(address)
            except OSError as exc:
                if exc.errno == errno.EADDRNOTAVAIL and family == socket.AF_INET6 and address[0] == "::1":
                    continue  # no IPv6 loopback here: tornado skips it the same way
                if exc.errno == errno.EADDRINUSE:
                    return EXIT_IN_USE, _in_use(listen, port)
                return EXIT_USAGE, f"cannot listen on {listen}:{port}: {exc.strerror or exc}"
    return None


def _in_use(listen: str, port: int) -> str:
    return (f"{listen}:{port} is already in use (another misp-modules?); stop it or choose another port: "
            f"--port {port + 1} (make serve PORT={port + 1})")


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"expected 1 to 65535, got {port}")
    return port


def _local_url(listen: str, port: int) -> str:
    """Where this machine reaches the server (a wildcard bind is reached on loopback)."""
    return _url({"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(listen, listen), port)


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _wait_until_ready(child: subprocess.Popen[bytes], url: str) -> str | None:
    """None once /modules lists actor_enrich; else "exited", "in-use", "missing" or "timeout"."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))   # loopback: never via a proxy
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if child.poll() is not None:
            return "exited"
        try:
            with opener.open(f"{url}/modules", timeout=5) as response:
                modules = json.loads(response.read())
        except (urllib.error.URLError, OSError, ValueError):
            time.sleep(0.1)
            continue
        listed = isinstance(modules, list) and any(isinstance(m, dict) and m.get("name") == MODULE_NAME
                                                    for m in modules)
        return None if listed else "missing"
    return "timeout"


def start_failure(reason: str, returncode: int | None, log_lines: list[str], listen: str, port: int,
                  log_path: Path | None) -> tuple[int, str]:
    """(exit code, one message) for a misp-modules that did not come up, from what its log says."""
    if reason == "exited" and any("Could not listen" in line for line in log_lines):
        return EXIT_IN_USE, _in_use(listen, port)        # taken between our check and its start
    where = f"; its log: {log_path}" if log_path else ""
    if reason == "missing":
        said = [line.split(" - ")[-1] for line in log_lines if MODULE_NAME in line and "failed" in line]
        return EXIT_FAILED, (f"misp-modules started but did not register {MODULE_NAME}"
                             f"{': ' + said[-1] if said else ''}{where}")
    if reason == "timeout":
        return EXIT_FAILED, f"misp-modules did not answer within {START_TIMEOUT:.0f} s{where}"
    last = "".join(f"\n  {line}" for line in log_lines[-5:])
    return EXIT_FAILED, f"misp-modules exited with code {returncode} while starting{where}{last}"


def _log_tail(log_path: Path | None) -> list[str]:
    if log_path is None:
        return []
    try:
        with log_path.open("rb") as handle:
            handle.seek(max(0, log_path.stat().st_size - 16384))
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return []
    return [line for line in text.splitlines() if line.strip()]


def _banner(args: argparse.Namespace, log_path: Path | None) -> None:
    url = _local_url(args.listen, args.port)
    body = json.dumps({"module": MODULE_NAME, "event_id": "1", "attribute": {"type": "threat-actor", "value": "Reaper"}})
    cli = Path(sys.executable).with_name("misp-actor-enrich")
    lines = [
        *([f"misp-modules' own log: {log_path}"] if log_path else []),
        f"command line: {cli if cli.is_file() else 'misp-actor-enrich'} --help",
        f"{MODULE_NAME} {__version__} is registered; misp-modules {_misp_modules_version()} listens on "
        f"{_url(args.listen, args.port)} (Ctrl-C stops it)",
        f"try it: curl -s {url}/query -d '{body}'",
    ]
    print("\n".join(lines), flush=True)


def _misp_modules_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("misp-modules")
    except PackageNotFoundError:
        return "?"


def _stop_on_signals() -> None:
    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    # The child has a session of its own: a closed terminal must stop it through us.
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, interrupt)


def _stop(child: subprocess.Popen[bytes]) -> None:
    if child.poll() is None:
        child.terminate()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
