#!/usr/bin/env python3
"""How well targeting is read from descriptions: precision and recall on the hand-checked sentence set.

    python benchmarks/targeting_quality.py                      # the sentence set, overall and per class
    python benchmarks/targeting_quality.py --coverage DIR ...   # also: share of actors with known targeting
    python benchmarks/targeting_quality.py --json               # also one JSON line with every figure

The sentence set is fixtures/targeting/sentences.yaml (what each sentence must and must not
give); the vocabulary is the copy in fixtures/targeting/vocabulary. An item a sentence lists
under ``may`` counts neither way; ``known_miss`` items count as missed. Precision is the
share of reported items that are right, recall the share of right items reported.

Only measures and prints, like the speed scripts. It also runs against an older checkout
of the package (``PYTHONPATH=/tmp/old python benchmarks/targeting_quality.py``), so a
change can be compared with what came before it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any


ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures" / "targeting"
sys.path.insert(0, str(ROOT / "tests"))


def main() -> None:
    args = _parser().parse_args()
    from sentence_set import load_entries, produced, vocabulary

    vocab = vocabulary()
    figures: dict[str, Any] = {}
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])   # right, reported, expected, traps
    for entry in load_entries():
        got = produced(entry, vocab)
        may = set(entry.get("may", ()))
        right = set(entry.get("must", ())) | set(entry.get("known_miss", ()))
        reported = got - may
        for cls in ("all", *entry["class"]):
            c = counts[cls]
            c[0] += len(reported & right)
            c[1] += len(reported)
            c[2] += len(right)
            c[3] += len(reported & set(entry.get("must_not", ())))
    print(f"{'class':16}{'precision':>22}{'recall':>22}{'traps taken':>13}")
    for cls in sorted(counts, key=lambda k: (k != "all", k)):
        right, reported, expected, traps = counts[cls]
        p = right / reported if reported else 1.0
        r = right / expected if expected else 1.0
        figures[cls] = {"precision": round(p, 4), "recall": round(r, 4), "right": right, "reported": reported,
                        "expected": expected, "traps": traps}
        print(f"{cls:16}{p:>10.1%} ({right:>3}/{reported:>3}){r:>12.1%} ({right:>3}/{expected:>3}){traps:>8}")
    for folder in args.coverage:
        figures[f"coverage {folder}"] = _coverage(Path(folder))
    if args.json:
        print(json.dumps(figures, sort_keys=True))


def _coverage(folder: Path) -> dict[str, Any]:
    from misp_actor_enrich.core.targeting import coverage
    from misp_actor_enrich.data.store import load_knowledge

    knowledge = load_knowledge(folder)
    cov = coverage(knowledge.targeting(a) for a in knowledge.actors)
    share = cov.with_any / cov.total if cov.total else 0.0
    print(f"coverage of {folder}: {cov.with_any}/{cov.total} actors with known targeting ({share:.1%}); "
          f"{cov.with_structured} from structured fields, {cov.description_only} from descriptions only")
    return {"total": cov.total, "with_any": cov.with_any, "with_structured": cov.with_structured,
            "description_only": cov.description_only, "share": round(share, 4)}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--coverage", nargs="*", default=[], metavar="DIR",
                        help="misp-galaxy folders (clusters/, galaxies/) to measure coverage on")
    parser.add_argument("--json", action="store_true", help="also print one JSON line with every figure")
    return parser


if __name__ == "__main__":
    main()
