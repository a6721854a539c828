"""The hand-checked sentence set (fixtures/targeting/sentences.yaml): loading it and reading one entry.

Shared by tests/test_sentence_set.py and benchmarks/targeting_quality.py. An entry is read
as the description of one cluster (its galaxy, value and the actor's names that hold a place
or sector word, the actor's origin as ``country``),
with the vocabulary copied into fixtures/targeting/vocabulary, so the answers depend on
neither the default galaxy data nor anything outside the repository.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from misp_actor_enrich.core.models import Cluster
from misp_actor_enrich.core.targeting import targeting_for
from misp_actor_enrich.core.vocabulary import Vocabulary

SET_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "targeting"


def load_entries() -> list[dict[str, Any]]:
    with (SET_DIR / "sentences.yaml").open(encoding="utf-8") as handle:
        entries: list[dict[str, Any]] = yaml.safe_load(handle)
    return entries


def vocabulary() -> Vocabulary:
    def load(name: str) -> Any:
        return json.loads((SET_DIR / "vocabulary" / f"{name}.json").read_text(encoding="utf-8"))
    return Vocabulary.from_galaxy_clusters(load("target-information"), load("sector"), load("region"))


def produced(entry: dict[str, Any], vocab: Vocabulary) -> set[str]:
    """The victim items targeting gives for the entry's text, as ``kind:value``."""
    meta = {"country": tuple(entry["home"])} if entry.get("home") else {}
    cluster = Cluster(entry["galaxy"], f"uuid-{entry['id']}", entry["cluster"], tuple(entry.get("names", ())),
                      entry["text"], meta, (), ())
    t = targeting_for([cluster], vocab)
    kinds = (("country", t.countries), ("region", t.regions), ("sector", t.sectors),
             ("domestic", getattr(t, "domestic", ())))
    return {f"{kind}:{item.value}" for kind, items in kinds for item in items}
