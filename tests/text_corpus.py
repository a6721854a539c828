"""The free-text corpora (fixtures/texts/corpus.yaml and heldout.yaml): loading one and scoring a scan.

Shared by tests/test_text_corpus.py and benchmarks/text_quality.py. Expectations are names
that resolve to the expected actor on every data set, so one file checks both real data
sets: ``actors`` (complete: any other actor found is a false actor), ``ambiguous`` (names
that must come back as untagged candidates) and ``not`` (false actors a reader would
expect, named for the record).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from misp_actor_enrich.core.knowledge import Knowledge
from misp_actor_enrich.core.models import Status

TEXTS = Path(__file__).resolve().parent.parent / "fixtures" / "texts"


def load_corpus(name: str) -> list[dict[str, Any]]:
    with (TEXTS / f"{name}.yaml").open(encoding="utf-8") as handle:
        entries: list[dict[str, Any]] = yaml.safe_load(handle)
    return entries


@dataclass(frozen=True)
class Outcome:
    """What a scan of one entry gave against what the entry expects, actors by name."""

    right: frozenset[str]          # expected actors found (resolved) and expected ambiguous names found
    false: frozenset[str]          # actors found that the text does not name, and unexpected ambiguous names
    missed: frozenset[str]         # expected actors or ambiguous names not found
    traps: frozenset[str]          # the entry's ``not`` actors that were found

    @property
    def reported(self) -> int:
        return len(self.right) + len(self.false)

    @property
    def expected(self) -> int:
        return len(self.right) + len(self.missed)


def expected_actor(knowledge: Knowledge, name: str) -> tuple[int, str]:
    resolution = knowledge.resolve(name)
    if resolution.status is not Status.RESOLVED or resolution.actor is None:
        raise ValueError(f"corpus name {name!r} does not resolve to one actor on {knowledge.origin.label}")
    return resolution.actor.id, resolution.actor.name


def evaluate(entry: dict[str, Any], knowledge: Knowledge) -> Outcome:
    expected = dict(expected_actor(knowledge, n) for n in entry.get("actors") or ())
    not_ids = {expected_actor(knowledge, n)[0] for n in entry.get("not") or ()}
    if not_ids & set(expected):
        raise ValueError(f"{entry['id']}: a 'not' name means an expected actor on {knowledge.origin.label}")
    ambiguous = {n.casefold(): n for n in entry.get("ambiguous") or ()}
    found: dict[int, str] = {}
    right: set[str] = set()
    false: set[str] = set()
    for finding in knowledge.scanner.scan(entry["text"]).findings:
        if finding.status is Status.RESOLVED:
            actor = finding.resolution.candidates[0].actor
            found[actor.id] = actor.name
            continue
        named = [n for n in finding.names if n.casefold() in ambiguous]
        if named:
            right.add(f"ambiguous {ambiguous[named[0].casefold()]}")
        else:
            candidates = "|".join(c.actor.name for c in finding.resolution.candidates)
            false.add(f"ambiguous {'/'.join(finding.names)} ({candidates})")
    right |= {name for actor, name in found.items() if actor in expected}
    false |= {name for actor, name in found.items() if actor not in expected}
    missed = {name for actor, name in expected.items() if actor not in found}
    missed |= {f"ambiguous {n}" for n in ambiguous.values() if f"ambiguous {n}" not in right}
    traps = {name for actor, name in found.items() if actor in not_ids}
    return Outcome(frozenset(right), frozenset(false), frozenset(missed), frozenset(traps))
