"""``misp-actor-enrich scan``: the actors named in text files or standard input."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..core.errors import InputError
from ..core.models import Status
from .exit_codes import EXIT_OK, EXIT_UNRESOLVED, RESOLVE_EPILOG
from .render import knowledge_in_use, resolution_dict


def add_parser(subparsers: Any) -> None:
    scan = subparsers.add_parser("scan", help="find the actors named in a text file or standard input",
                                 description="Find every actor named in free text (a report, a note). "
                                             "Reads standard input when no file (or '-') is given.",
                                 epilog=RESOLVE_EPILOG.replace("every name resolved", "every actor named resolved"))
    scan.add_argument("files", nargs="*", metavar="FILE", help="text files to scan (default: standard input)")
    scan.add_argument("--json", action="store_true", help="one JSON object per file")
    scan.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    known = knowledge_in_use()
    scanner = known.scanner
    code = EXIT_OK
    for source in args.files or ["-"]:
        text = _read_text(source)
        findings = scanner.scan(text).findings
        if any(f.status is not Status.RESOLVED for f in findings):
            code = EXIT_UNRESOLVED
        if args.json:
            print(json.dumps({"source": source, "findings": [
                {**resolution_dict(f.resolution, [known.targeting(c.actor) for c in f.resolution.candidates]),
                 "mentions": [{"start": m.start, "end": m.end, "text": m.text} for m in f.mentions],
                 "snippet": f.snippet, **({"because": f.because} if f.because else {})}
                for f in findings]}, ensure_ascii=False), flush=True)
            continue
        print(f"{source}: {len(findings)} actor{'s' if len(findings) != 1 else ''} named")
        for f in findings:
            names = ", ".join(dict.fromkeys(m.text for m in f.mentions))
            if f.status is Status.RESOLVED:
                cand = f.resolution.candidates[0]
                print(f"  {cand.actor.name}  (as {names}; {len(f.mentions)} mention{'s' * (len(f.mentions) != 1)})")
                for tag in cand.tags:
                    print(f"      {tag}")
            else:
                who = " | ".join(c.actor.name for c in f.resolution.candidates)
                print(f"  ambiguous: {names} could be {who}  ({f.resolution.reason})")
            print(f"      {f.snippet}")
            if f.because:
                print(f"      ({f.because})")
    return code


def _read_text(source: str) -> str:
    if source == "-":
        return sys.stdin.read()
    try:
        return Path(source).read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise InputError(f"cannot read {source}: {exc.strerror or exc}") from exc
