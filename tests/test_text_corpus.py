"""The free-text corpora on both real data sets: every actor each text names, and no other.

fixtures/texts/corpus.yaml is the set the scanner was tuned on; heldout.yaml was written
afterwards and run once before any further change (see its header for what that run gave).
"""

from __future__ import annotations

from typing import Any

import pytest
from text_corpus import evaluate, expected_actor, load_corpus

from misp_actor_enrich.core.knowledge import Knowledge

CORPUS = load_corpus("corpus")
HELDOUT = load_corpus("heldout")


def test_the_corpus_is_as_described() -> None:
    kinds = [e["kind"] for e in CORPUS]
    assert len(CORPUS) >= 30 and kinds.count("security") >= 15 and kinds.count("other") >= 10
    assert len({e["id"] for e in CORPUS}) == len(CORPUS)


def test_the_heldout_set_is_separate() -> None:
    kinds = [e["kind"] for e in HELDOUT]
    assert len(HELDOUT) >= 15 and "security" in kinds and "other" in kinds
    assert not {e["id"] for e in HELDOUT} & {e["id"] for e in CORPUS}
    assert not {e["text"] for e in HELDOUT} & {e["text"] for e in CORPUS}


@pytest.mark.parametrize("entry", CORPUS + HELDOUT, ids=[e["id"] for e in CORPUS + HELDOUT])
def test_a_corpus_text_yields_exactly_its_actors(entry: dict[str, Any], real: Knowledge) -> None:
    outcome = evaluate(entry, real)
    assert not outcome.false, f"false actors on {real.origin.label}"
    assert not outcome.missed, f"missed on {real.origin.label}"
    assert not outcome.traps


def test_the_scorer_can_fail(bundled: Knowledge) -> None:
    """A wrong expectation is reported both ways: the actor found is false, the one expected missed."""
    entry = {"id": "x", "kind": "security", "text": "Turla hid its command servers behind satellite links; "
             "the malware relayed traffic.", "actors": ["APT28"], "not": ["Turla"]}
    outcome = evaluate(entry, bundled)
    assert outcome.false == {"Turla"} and outcome.missed == {"APT28"} and outcome.traps == {"Turla"}
    with pytest.raises(ValueError, match="does not resolve"):
        expected_actor(bundled, "Grizzly Steppe")
