"""``misp-actor-enrich serve`` and ``modules-root``: misp-modules with actor_enrich registered."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from ..misp.module import modules_root
from .exit_codes import EXIT_OK


def add_parser(subparsers: Any) -> None:
    root = subparsers.add_parser("modules-root", help="print the folder to pass to misp-modules -c")
    root.set_defaults(run=run_modules_root)

    serve = subparsers.add_parser("serve", help="run misp-modules with the actor_enrich module registered")
    serve.add_argument("--listen", default="127.0.0.1", metavar="ADDR", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=6666, metavar="N", help="port (default 6666)")
    serve.add_argument("--debug", action="store_true", help="misp-modules debug logging")
    serve.set_defaults(run=run_serve)


def run_modules_root(args: argparse.Namespace) -> int:
    print(modules_root())
    return EXIT_OK


def run_serve(args: argparse.Namespace) -> int:
    command = [sys.executable, "-m", "misp_modules", "-l", args.listen, "-p", str(args.port),
               "-c", str(modules_root())]
    if args.debug:
        command.append("-d")
    sys.stdout.flush()
    os.execv(sys.executable, command)  # replace this process: signals reach misp-modules directly
