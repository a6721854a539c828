#!/usr/bin/env python3
"""How well free text is read: precision and recall of the scanner on the hand-written text corpora.

    python benchmarks/text_quality.py                  # fixtures/texts/corpus.yaml, both data sets
    python benchmarks/text_quality.py heldout          # the held-out set (fixtures/texts/heldout.yaml)
    python benchmarks/text_quality.py --json           # also one JSON line with every figure

Each entry says which actors a text must yield (complete: anything else found is a false
actor) and which names must stay ambiguous; see tests/text_corpus.py. Runs on the bundled
data and on pymispgalaxies' older copy. Precision is the share of reported actors (and
ambiguous names) that are right, recall the share of expected ones reported; every miss and
false actor is listed by text.

Only measures and prints. It also runs against an older checkout of the package
(``PYTHONPATH=/tmp/old python benchmarks/text_quality.py``), so a change can be compared
with what came before it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def main() -> None:
    args = _parser().parse_args()
    from text_corpus import evaluate, load_corpus

    from misp_actor_enrich.data import runtime
    from misp_actor_enrich.data.store import load_knowledge, pymispgalaxies_data_dir

    data_sets = {"bundled": runtime.current(), "older": load_knowledge(pymispgalaxies_data_dir(), label="older")}
    figures: dict[str, Any] = {}
    for corpus in args.corpora:
        entries = load_corpus(corpus)
        kinds = sorted({e["kind"] for e in entries})
        counts = ", ".join(f"{sum(e['kind'] == k for e in entries)} {k}" for k in kinds)
        print(f"{corpus}: {len(entries)} texts ({counts})")
        for label, knowledge in data_sets.items():
            right = reported = expected = 0
            notes = []
            for entry in entries:
                outcome = evaluate(entry, knowledge)
                right += len(outcome.right)
                reported += outcome.reported
                expected += outcome.expected
                if outcome.false:
                    notes.append(f"    {entry['id']}: false {', '.join(sorted(outcome.false))}")
                if outcome.missed:
                    notes.append(f"    {entry['id']}: missed {', '.join(sorted(outcome.missed))}")
            precision = right / reported if reported else 1.0
            recall = right / expected if expected else 1.0
            figures[f"{corpus} {label}"] = {"precision": round(precision, 4), "recall": round(recall, 4),
                                             "right": right, "reported": reported, "expected": expected}
            print(f"  {label:8} precision {precision:6.1%} ({right}/{reported})   recall {recall:6.1%} "
                  f"({right}/{expected})")
            for note in notes:
                print(note)
    if args.json:
        print(json.dumps(figures, sort_keys=True))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("corpora", nargs="*", default=["corpus"], help="corpus names in fixtures/texts")
    parser.add_argument("--json", action="store_true", help="also print one JSON line with every figure")
    return parser


if __name__ == "__main__":
    main()
