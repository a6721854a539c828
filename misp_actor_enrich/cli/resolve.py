"""``misp-actor-enrich resolve``: one readable answer (or JSON line) per actor name."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..core.models import Status
from .exit_codes import EXIT_OK, EXIT_UNRESOLVED, RESOLVE_EPILOG
from .render import knowledge_in_use, print_resolution, resolution_dict


def add_parser(subparsers: Any) -> None:
    resolve = subparsers.add_parser(
        "resolve", help="resolve actor names and print actor, aliases, tags, targeting",
        description="Resolve actor names the way the module does: the actor, its aliases, the galaxy tags MISP "
                    "would get, and its known targeting. Use -- before names that start with '-'.",
        epilog=RESOLVE_EPILOG)
    resolve.add_argument("names", nargs="+", metavar="NAME",
                         help="an actor name as a report writes it (Reaper, 'APT 37', 'the Kimsuky group'); "
                              "quote names with spaces")
    resolve.add_argument("--json", action="store_true", help="one JSON object per name, one per line")
    resolve.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    known = knowledge_in_use()
    code = EXIT_OK
    for name in args.names:
        resolution = known.resolve(name)
        if resolution.status is not Status.RESOLVED:
            code = EXIT_UNRESOLVED
        targetings = [known.targeting(c.actor) for c in resolution.candidates]
        if args.json:
            print(json.dumps(resolution_dict(resolution, targetings), ensure_ascii=False), flush=True)
        else:
            print_resolution(resolution, targetings, sys.stdout)
    return code
