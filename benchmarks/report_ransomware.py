#!/usr/bin/env python3
"""Ransomware operations in a data set: what joined which actor and why, and the held-out names (issue 15).

    python benchmarks/report_ransomware.py                 # the bundled data and pymispgalaxies' copy
    python benchmarks/report_ransomware.py --data DIR ...  # misp-galaxy folders
    python benchmarks/report_ransomware.py --statements    # also every decision, one line each
    python benchmarks/report_ransomware.py --json          # also one JSON line per data set

Per data set: the operations, how many joined an actor identity ("same"), how many have operators
("runs"), the names and links the galaxies share with an actor that is not described as being in the
ransomware business ("apart": the collisions), operations two actors claim ("contested"), the ransomware
galaxy's own duplicates; then each name of ``fixtures/ransomware/held_out.txt`` (written before the rules,
never tuned on) as a threat-actor attribute: status, the identity, its tags, and whether it is the
operation meant. Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any, Sequence

from report_names import default_sets
from timing import log

from misp_actor_enrich.core.galaxy import RANSOMWARE
from misp_actor_enrich.core.knowledge import Knowledge
from misp_actor_enrich.core.models import Status
from misp_actor_enrich.core.names import normalise, strip_ransomware
from misp_actor_enrich.data.store import load_knowledge

HELD_OUT = Path(__file__).resolve().parent.parent / "fixtures" / "ransomware" / "held_out.txt"


def held_out() -> list[tuple[str, tuple[str, ...]]]:
    rows = []
    for line in HELD_OUT.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, meant = line.split("|", 1)
            rows.append((name.strip(), tuple(m.strip() for m in meant.split(","))))
    return rows


def _keys(names: Sequence[str]) -> set[str]:
    return {normalise(strip_ransomware(n)) for n in names} - {""}


def is_meant(keys: set[str], meant: Sequence[str]) -> bool:
    """One of the identity's ransomware names is the operation meant, or a version of it ("lockbit3")."""
    wanted = _keys(meant)
    return any(k == w or (k.startswith(w) and k[len(w):].isdigit()) for k in keys for w in wanted)


def report(label: str, knowledge: Knowledge, statements: bool) -> dict[str, Any]:
    operations = [a for a in knowledge.actors if a.ransomware]
    decided = Counter(s.relation for s in knowledge.ransomware_statements)
    duplicates = sum(1 for a in operations for c in a.duplicates if c.galaxy == RANSOMWARE)
    joined = sum(1 for a in operations if len(a.ransomware) < len(a.clusters))
    print(f"== {label}")
    print(f"ransomware clusters    {sum(len(a.ransomware) for a in operations):6}  in {len(operations)} identities "
          f"({joined} with actor clusters; {duplicates} clusters are duplicates of another)")
    for relation in ("same", "runs", "apart", "contested"):
        print(f"  {relation:20} {decided[relation]:6}")
    if statements:
        for s in knowledge.ransomware_statements:
            print(f"    {s.relation:9} {s.operation!r} / {s.actor!r}: {s.evidence}" + (f"; {s.because}" if s.because else ""))
    rows = []
    outcome: Counter[str] = Counter()
    for name, meant in held_out():
        resolution = knowledge.resolve(name)
        cands = resolution.candidates
        if resolution.status is Status.RESOLVED:
            actor = cands[0].actor
            keys = _keys([n for c in actor.ransomware for n in (c.value, *c.synonyms)])
            verdict = "right" if is_meant(keys, meant) else "other" if actor.ransomware else "an actor"
            tags = list(actor.tags)
        else:
            verdict = resolution.status.value
            tags = []
        outcome[verdict] += 1
        rows.append({"name": name, "meant": list(meant), "status": resolution.status.value, "verdict": verdict,
                     "identity": cands[0].actor.name if cands else None, "tags": tags,
                     "candidates": [c.actor.name for c in cands]})
        shown = ", ".join(t.split(":", 1)[1] for t in tags) or "; ".join(c.actor.name for c in cands) or resolution.reason
        print(f"  {verdict:9} {name!r:32} {shown}")
    print("held-out names         " + ", ".join(f"{k} {v}" for k, v in outcome.most_common()) + f" (of {len(rows)})")
    print()
    return {"data": label, "identities": len(operations), "decided": dict(decided), "duplicates": duplicates,
            "held_out": dict(outcome), "rows": rows}


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--data", type=Path, action="append", help="a misp-galaxy folder (repeatable)")
    p.add_argument("--statements", action="store_true", help="every decision about an operation and an actor")
    p.add_argument("--json", action="store_true", help="also one JSON line per data set")
    args = p.parse_args(argv)
    sets = [(str(d), d) for d in args.data] if args.data else default_sets()
    lines = []
    for label, root in sets:
        log(f"loading {root}")
        lines.append(json.dumps(report(label, load_knowledge(root, label=label), args.statements), sort_keys=True))
    if args.json:
        for line in lines:
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
