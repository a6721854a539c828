"""The ``misp-actor-enrich`` command: one subcommand per module of this package, dispatched here.

Exit codes of resolve/scan: 0 every name resolved; 1 at least one name was ambiguous,
only a suggestion, or unknown; 2 usage or configuration error; 3 the galaxy data could
not be loaded. ``update``, ``status``, ``enrich-events`` and ``serve`` document their own
codes. Every command: 130 on Ctrl-C, 141 (quietly) when the reader of its output left.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

from ..core.errors import ActorEnrichError, DataError, one_line
from ..version import __version__
from . import enrich_events, resolve, scan, serve, update
from .exit_codes import EXIT_BROKEN_PIPE, EXIT_DATA, EXIT_INTERRUPTED, EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.run(args)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, as Unix tools do, and keep Python's
        # exit-time flush from failing a second time.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        print("misp-actor-enrich: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except DataError as exc:
        print(f"misp-actor-enrich: {one_line(str(exc))}", file=sys.stderr)
        return EXIT_DATA
    except ActorEnrichError as exc:
        print(f"misp-actor-enrich: {one_line(str(exc))}", file=sys.stderr)
        return EXIT_USAGE


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="misp-actor-enrich",
        description="Resolve threat-actor names across MISP galaxies; run the actor_enrich misp-modules module.",
        epilog="Each command's options and exit codes: misp-actor-enrich COMMAND --help. "
               "Every command also exits 130 on Ctrl-C and 141 when its output pipe closes (| head).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in (resolve, scan, enrich_events, update, serve):
        command.add_parser(commands)
    return parser
