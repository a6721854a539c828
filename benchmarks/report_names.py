#!/usr/bin/env python3
"""How well every name in a data set resolves, and how the identities look (issue 9's report).

    python benchmarks/report_names.py                   # the bundled data and pymispgalaxies' copy
    python benchmarks/report_names.py --data DIR ...    # misp-galaxy folders (clusters/ + galaxies/)
    python benchmarks/report_names.py --json            # also one JSON line per data set
    python benchmarks/report_names.py --list            # also list the ambiguous names and duplicates

Per data set: the distinct names in the actor galaxies (values and synonyms, as
written, and after normalisation) and how many resolve, are ambiguous or unknown; every
threat-actor cluster value and whether it resolves to its own cluster; identity sizes,
the largest one and identities holding two or more clusters of one galaxy (duplicates).
Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any, Sequence

from timing import log

from misp_actor_enrich.core.errors import DataError
from misp_actor_enrich.core.knowledge import Knowledge
from misp_actor_enrich.core.models import Status
from misp_actor_enrich.core.names import normalise
from misp_actor_enrich.data.store import (
    bundled_data_dir,
    bundled_label,
    load_knowledge,
    pymispgalaxies_data_dir,
    pymispgalaxies_version,
)

HUB = "threat-actor"


def default_sets() -> list[tuple[str, Path]]:
    """The bundled data, and pymispgalaxies' older copy when it is installed (the test extra)."""
    sets = [(f"bundled: {bundled_label()}", bundled_data_dir())]
    try:
        sets.append((f"pymispgalaxies {pymispgalaxies_version()}", pymispgalaxies_data_dir()))
    except DataError as exc:
        log(f"skipping pymispgalaxies' data: {exc}")
    return sets


def report(label: str, knowledge: Knowledge, listing: bool) -> dict[str, Any]:
    names: dict[str, None] = {}
    for actor in knowledge.actors:
        for cluster in actor.clusters:
            for name in (cluster.value, cluster.name, *cluster.synonyms):
                names.setdefault(name, None)
    statuses: Counter[str] = Counter()
    ambiguous: list[str] = []
    for name in names:
        status = knowledge.resolve(name).status
        statuses[status.value] += 1
        if status is Status.AMBIGUOUS:
            ambiguous.append(name)
    # The same name written twice ("IMPERIAL KITTEN", "Imperial Kitten") is one name: ambiguous when
    # any of its spellings is.
    keys = {normalise(n) for n in names}
    ambiguous_keys = {normalise(n) for n in ambiguous}

    hub = [(a, c) for a in knowledge.actors for c in a.clusters if c.galaxy == HUB]
    shared = Counter(normalise(c.value) for _, c in hub)
    own = other = amb = amb_shared = 0
    wrong: list[str] = []
    for _, cluster in hub:
        resolution = knowledge.resolve(cluster.value)
        if resolution.status is Status.RESOLVED and cluster in resolution.candidates[0].actor.clusters:
            own += 1
        elif resolution.status is Status.AMBIGUOUS:
            amb += 1
            amb_shared += shared[normalise(cluster.value)] > 1
            if shared[normalise(cluster.value)] == 1:
                wrong.append(f"{cluster.value} (ambiguous: {resolution.reason})")
        else:
            other += 1
            wrong.append(f"{cluster.value} ({resolution.status.value}: {resolution.reason})")

    sizes = Counter(len(a.clusters) for a in knowledge.actors)
    largest = max(knowledge.actors, key=lambda a: len(a.clusters))
    repeated = [a for a in knowledge.actors if len({c.galaxy for c in a.clusters}) < len(a.clusters)]
    unexplained = [a for a in repeated if len({c.galaxy for c in a.primaries}) < len(a.primaries)]
    figures = {
        "data": label, "galaxies": {g.type: g.version for g in knowledge.origin.galaxies},
        "names": len(names), "resolved": statuses["resolved"], "ambiguous": statuses["ambiguous"],
        "unknown": statuses["unknown"] + statuses["suggested"],
        "ambiguous_pct": round(100 * statuses["ambiguous"] / max(len(names), 1), 2),
        "hub_values": len(hub), "hub_own": own, "hub_ambiguous": amb, "hub_ambiguous_shared_name": amb_shared,
        "hub_other": other, "identities": len(knowledge.actors),
        "identity_sizes": dict(sorted(sizes.items())),
        "largest_identity": {"name": largest.name, "clusters": len(largest.clusters),
                             "galaxies": dict(Counter(c.galaxy for c in largest.clusters))},
        "identities_with_repeated_galaxy": len(repeated), "repeats_not_duplicates": len(unexplained),
        "distinct_names": len(keys), "distinct_ambiguous": len(ambiguous_keys),
        "distinct_ambiguous_pct": round(100 * len(ambiguous_keys) / max(len(keys), 1), 2),
    }
    print(f"== {label}: {', '.join(f'{t} v{v}' for t, v in figures['galaxies'].items())}")
    print(f"names in the data      {len(names):6}  (spellings; {len(keys)} after normalisation)")
    print(f"  resolved             {statuses['resolved']:6}")
    print(f"  ambiguous            {statuses['ambiguous']:6}  ({figures['ambiguous_pct']} %; "
          f"{len(ambiguous_keys)} of {len(keys)} after normalisation, {figures['distinct_ambiguous_pct']} %)")
    print(f"  unknown              {figures['unknown']:6}")
    print(f"threat-actor values    {len(hub):6}")
    print(f"  to their own cluster {own:6}")
    print(f"  ambiguous            {amb:6}  ({amb_shared} share their name with another threat-actor cluster)")
    print(f"  elsewhere            {other:6}")
    print(f"identities             {len(knowledge.actors):6}  sizes (clusters: identities) "
          + ", ".join(f"{k}: {v}" for k, v in sorted(sizes.items())))
    print(f"largest identity       {len(largest.clusters):6}  {largest.name} "
          f"({', '.join(f'{g} x{n}' for g, n in Counter(c.galaxy for c in largest.clusters).items())})")
    print(f"2+ clusters of a galaxy{len(repeated):6}  (duplicates; {len(unexplained)} repeat a galaxy otherwise)")
    for line in wrong[:40]:
        print(f"  not its own: {line}")
    if listing:
        for name in sorted(ambiguous, key=str.casefold):
            found = knowledge.resolve(name)
            print(f"  ambiguous: {name}: {', '.join(c.actor.name for c in found.candidates)} ({found.reason})")
        for actor in repeated:
            print(f"  duplicates: {actor.name}: "
                  + "; ".join(f"{c.galaxy} {c.value!r}" for c in actor.clusters
                              if any(d.galaxy == c.galaxy for d in actor.duplicates)))
    print()
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--data", type=Path, action="append", help="a misp-galaxy folder (repeatable)")
    p.add_argument("--json", action="store_true", help="also one JSON line per data set")
    p.add_argument("--list", action="store_true", help="list the ambiguous names")
    args = p.parse_args(argv)
    sets = [(str(d), d) for d in args.data] if args.data else default_sets()
    lines = []
    for label, root in sets:
        log(f"loading {root}")
        figures = report(label, load_knowledge(root, label=label), args.list)
        lines.append(json.dumps(figures, sort_keys=True))
    if args.json:
        for line in lines:
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
