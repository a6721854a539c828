"""The ``misp-actor-enrich`` command: resolve names, print the modules root, run misp-modules.

Exit codes: 0 every name resolved (or the command succeeded); 1 at least one name
was ambiguous, only a suggestion, or unknown; 2 usage error; 3 the galaxy data
could not be loaded.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, Sequence, TextIO

from . import __version__
from .enrich_events_cli import add_parser as add_enrich_events
from .update_cli import add_parser as add_update
from .errors import ActorEnrichError, DataError, InputError
from .models import Candidate, Resolution, Status, TargetItem, Targeting

EXIT_OK, EXIT_UNRESOLVED, EXIT_USAGE, EXIT_DATA = 0, 1, 2, 3


def modules_root() -> Path:
    """The custom-module root to pass to ``misp-modules -c``."""
    return Path(__file__).resolve().parent / "modules_root"


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.run(args)
        return code
    except DataError as exc:
        print(f"misp-actor-enrich: {exc}", file=sys.stderr)
        return EXIT_DATA
    except ActorEnrichError as exc:
        print(f"misp-actor-enrich: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="misp-actor-enrich",
        description="Resolve threat-actor names across MISP galaxies; run the actor_enrich misp-modules module.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    resolve = commands.add_parser("resolve", help="resolve actor names and print actor, aliases, tags, targeting",
                                  description="Resolve actor names. Use -- before names that start with '-'.")
    resolve.add_argument("names", nargs="+", metavar="NAME")
    resolve.add_argument("--json", action="store_true", help="one JSON object per name, one per line")
    resolve.set_defaults(run=_run_resolve)

    scan = commands.add_parser("scan", help="find the actors named in a text file or standard input",
                               description="Find every actor named in free text (a report, a note). "
                                           "Reads standard input when no file (or '-') is given.")
    scan.add_argument("files", nargs="*", metavar="FILE", help="text files to scan (default: standard input)")
    scan.add_argument("--json", action="store_true", help="one JSON object per file")
    scan.set_defaults(run=_run_scan)

    add_enrich_events(commands)
    add_update(commands)

    root = commands.add_parser("modules-root", help="print the folder to pass to misp-modules -c")
    root.set_defaults(run=lambda args: _print(str(modules_root())))

    serve = commands.add_parser("serve", help="run misp-modules with the actor_enrich module registered")
    serve.add_argument("--listen", default="127.0.0.1", metavar="ADDR", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=6666, metavar="N", help="port (default 6666)")
    serve.add_argument("--debug", action="store_true", help="misp-modules debug logging")
    serve.set_defaults(run=_run_serve)
    return parser


def _print(text: str) -> int:
    print(text)
    return EXIT_OK


def _run_serve(args: argparse.Namespace) -> int:
    command = [sys.executable, "-m", "misp_modules", "-l", args.listen, "-p", str(args.port),
               "-c", str(modules_root())]
    if args.debug:
        command.append("-d")
    sys.stdout.flush()
    os.execv(sys.executable, command)  # replace this process: signals reach misp-modules directly


def _run_resolve(args: argparse.Namespace) -> int:
    from . import knowledge

    known = knowledge.current()
    code = EXIT_OK
    for name in args.names:
        resolution = known.resolve(name)
        if resolution.status is not Status.RESOLVED:
            code = EXIT_UNRESOLVED
        targetings = [known.targeting(c.actor) for c in resolution.candidates]
        if args.json:
            print(json.dumps(resolution_dict(resolution, targetings), ensure_ascii=False), flush=True)
        else:
            _print_resolution(resolution, targetings, sys.stdout)
    return code


def _run_scan(args: argparse.Namespace) -> int:
    from . import knowledge

    known = knowledge.current()
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
                 "snippet": f.snippet}
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
    return code


def _read_text(source: str) -> str:
    if source == "-":
        return sys.stdin.read()
    try:
        return Path(source).read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise InputError(f"cannot read {source}: {exc.strerror or exc}") from exc


# --- JSON shape (also used by the benchmark and scripts) ----------------------


def resolution_dict(resolution: Resolution, targetings: Sequence[Targeting] = ()) -> dict[str, Any]:
    return {
        "query": resolution.query,
        "status": resolution.status.value,
        "reason": resolution.reason,
        "candidates": [
            candidate_dict(c, targetings[i] if i < len(targetings) else None)
            for i, c in enumerate(resolution.candidates)
        ],
    }


def candidate_dict(candidate: Candidate, targeting: Targeting | None) -> dict[str, Any]:
    actor = candidate.actor
    out: dict[str, Any] = {
        "name": actor.name,
        "matched": candidate.matched,
        "tier": candidate.tier.label,
        "score": candidate.score,
        "tags": list(candidate.tags),
        "aliases": list(actor.aliases),
        "clusters": [{"galaxy": c.galaxy, "value": c.value, "uuid": c.uuid} for c in actor.clusters],
        "reached": [{"galaxy": c.galaxy, "value": c.value, "uuid": c.uuid} for c in actor.reached],
    }
    if targeting is not None:
        out["targeting"] = targeting_dict(targeting)
    return out


def targeting_dict(targeting: Targeting) -> dict[str, Any]:
    def items(values: Sequence[TargetItem]) -> list[dict[str, Any]]:
        return [
            {
                "value": i.value,
                **({"code": i.code} if i.code else {}),
                **({"tag": i.galaxy_tag} if i.galaxy_tag else {}),
                "originals": list(i.originals),
                "sources": [{"galaxy": s.galaxy, "cluster": s.cluster, "field": s.field} for s in i.sources],
            }
            for i in values
        ]

    return {
        "countries": items(targeting.countries),
        "regions": items(targeting.regions),
        "organisations": items(targeting.organisations),
        "sectors": items(targeting.sectors),
        "incident_types": items(targeting.incident_types),
        "sponsors": items(targeting.sponsors),
        "origins": items(targeting.origins),
        "motives": items(targeting.motives),
    }


# --- text for people -----------------------------------------------------------


def _print_resolution(resolution: Resolution, targetings: Sequence[Targeting], out: TextIO) -> None:
    query = resolution.query
    if resolution.status is Status.RESOLVED:
        cand = resolution.candidates[0]
        out.write(f"{query}: {cand.actor.name}  ({resolution.reason} on {cand.matched!r})\n")
        _print_candidate(cand, targetings[0], out, tagged=True)
    elif resolution.status is Status.UNKNOWN:
        out.write(f"{query}: unknown ({resolution.reason})\n")
    else:
        label = "ambiguous" if resolution.status is Status.AMBIGUOUS else "not found; did you mean"
        out.write(f"{query}: {label} ({resolution.reason})\n")
        for cand, targeting in zip(resolution.candidates, targetings, strict=True):
            score = f", score {cand.score:.2f}" if cand.tier.label == "suggestion" else ""
            out.write(f"  - {cand.actor.name}  ({cand.tier.label} on {cand.matched!r}{score})\n")
            _print_candidate(cand, targeting, out, tagged=False, indent="      ")
    out.write("\n")


def _print_candidate(cand: Candidate, targeting: Targeting, out: TextIO, *, tagged: bool, indent: str = "  ") -> None:
    actor = cand.actor
    aliases = ", ".join(actor.aliases[:12]) + (f" (+{len(actor.aliases) - 12} more)" if len(actor.aliases) > 12 else "")
    if aliases:
        out.write(f"{indent}aliases:  {aliases}\n")
    out.write(f"{indent}{'tags' if tagged else 'would tag'}:\n")
    for tag in cand.tags:
        out.write(f"{indent}  {tag}\n")
    rows = (
        ("countries", [f"{i.value} ({i.code})" if i.code else i.value for i in targeting.countries]),
        ("regions", [i.value for i in targeting.regions]),
        ("victims", [i.value for i in targeting.organisations]),
        ("sectors", [i.value for i in targeting.sectors]),
        ("incidents", [i.value for i in targeting.incident_types]),
        ("sponsor", [i.value for i in targeting.sponsors]),
        ("origin", [i.value for i in targeting.origins]),
        ("motives", [i.value for i in targeting.motives]),
    )
    for label, values in rows:
        if values:
            out.write(f"{indent}{label + ':':10}{', '.join(values)}\n")
