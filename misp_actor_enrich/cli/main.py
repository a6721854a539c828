"""The ``misp-actor-enrich`` command: one subcommand per module of this package, dispatched here.

Exit codes of resolve/scan: 0 every name resolved; 1 at least one name was ambiguous,
only a suggestion, or unknown; 2 usage error; 3 the galaxy data could not be loaded.
``update``, ``status`` and ``enrich-events`` document their own codes.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from ..core.errors import ActorEnrichError, DataError, one_line
from ..version import __version__
from . import enrich_events, resolve, scan, serve, update
from .exit_codes import EXIT_DATA, EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.run(args)
        return code
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
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in (resolve, scan, enrich_events, update, serve):
        command.add_parser(commands)
    return parser
