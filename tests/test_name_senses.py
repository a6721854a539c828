"""NameSenses: what a name means besides the actor decides what it needs around it in free text."""

from __future__ import annotations

from pathlib import Path

import pytest

from misp_actor_enrich.core.galaxy import GalaxyInfo
from misp_actor_enrich.core.knowledge import DataOrigin, Knowledge
from misp_actor_enrich.core.models import Cluster, Status
from misp_actor_enrich.core.name_senses import OTHER_MEANINGS, ORDINARY_WORDS, NameSenses, Sense
from misp_actor_enrich.core.text_scan import TextScanner
from misp_actor_enrich.core.vocabulary import Vocabulary


@pytest.mark.parametrize(("name", "sense"), [
    ("Reaper", Sense.ORDINARY),               # everyday words
    ("Conference", Sense.ORDINARY),
    ("Big Bang", Sense.ORDINARY),
    ("Gallium", Sense.ORDINARY),              # elements, however the data writes them
    ("ZINC", Sense.ORDINARY),
    ("the Tick", Sense.ORDINARY),
    ("BEE", Sense.ORDINARY),                  # three letters or fewer
    ("Group 3", Sense.ORDINARY),
    ("Unit 8200", Sense.DISTINCTIVE),
    ("Lazarus", Sense.OTHER_MEANING),         # a biblical figure
    ("Sandworm", Sense.OTHER_MEANING),        # a novel's creature
    ("Turla", Sense.OTHER_MEANING),           # a river
    ("Xenotime", Sense.OTHER_MEANING),        # a mineral
    ("C Major", Sense.OTHER_MEANING),         # a key in music
    ("Neva Flood", Sense.OTHER_MEANING),
    ("Lazarus Group", Sense.DISTINCTIVE),     # the actor word makes it the actor's name
    ("Sandworm Team", Sense.DISTINCTIVE),
    ("APT37", Sense.DISTINCTIVE),
    ("Kimsuky", Sense.DISTINCTIVE),
    ("Fancy Bear", Sense.DISTINCTIVE),
])
def test_the_sense_of_a_name(name: str, sense: Sense) -> None:
    assert NameSenses().of(name) is sense


def test_places_come_from_the_vocabulary_galaxies(vocab: Vocabulary) -> None:
    """A name that is a country or region there is a place first, whatever galaxy holds it."""
    senses = NameSenses(vocab.place)
    assert senses.of("Georgia") is Sense.ORDINARY and senses.of("Japan") is Sense.ORDINARY
    assert NameSenses().of("Georgia") is Sense.DISTINCTIVE      # no vocabulary, no place
    assert senses.of("Kimsuky") is Sense.DISTINCTIVE


def test_everyday_words_are_no_short_form_of_a_longer_name(vocab: Vocabulary) -> None:
    """The scanner indexes "Iron Group" but not "Iron"; "NSO" (of "NSO Group") stays, needing evidence."""
    senses = NameSenses(vocab.place)
    assert senses.everyday("Iron") and senses.everyday("the Conference") and senses.everyday("Big Bang")
    assert senses.everyday("Japan")
    assert not senses.everyday("NSO") and not senses.everyday("Gallium") and not senses.everyday("Poseidon")
    assert senses.of("NSO") is Sense.ORDINARY


def test_the_tables_do_not_overlap() -> None:
    other = frozenset().union(*OTHER_MEANINGS.values())
    assert not other & ORDINARY_WORDS
    assert all(w == w.casefold() and w.isalpha() for w in other | ORDINARY_WORDS)


def _knowledge(vocab: Vocabulary, *names: tuple[str, str]) -> Knowledge:
    clusters = [Cluster(galaxy, f"00000000-0000-4000-8000-{i:012d}", value, (), "", {}, (), ())
                for i, (galaxy, value) in enumerate(names)]
    origin = DataOrigin("hand-made", Path("."), tuple(GalaxyInfo(g, g, "", 1, f"uuid-{g}", False)
                                                      for g in sorted({g for g, _ in names})))
    return Knowledge(clusters, vocab, origin, galaxy_order=sorted({g for g, _ in names}))


def test_any_galaxy_gets_the_same_caution(vocab: Vocabulary) -> None:
    """A ransomware galaxy's "Georgia" (a place) and "Medusa" (a myth) are treated as any actor's would be."""
    know = _knowledge(vocab, ("ransomware", "Georgia"), ("ransomware", "Medusa"), ("threat-actor", "Turla"))
    assert know.resolve("Medusa").status is Status.RESOLVED
    scanner = TextScanner.from_knowledge(know)

    def found(text: str) -> list[str]:
        return [f.resolution.candidates[0].actor.name for f in scanner.scan(text).findings]

    assert found("Georgia joined the alliance. Medusa was a Gorgon and Turla is a river.") == []
    assert found("Medusa encrypted the files and Turla phished the ministry; both used malware.") == ["Medusa", "Turla"]
    assert found("Georgia encrypted the files with malware.") == []       # a place needs an actor word
    # Only the ransomware galaxy gives the place: an actor word is not enough ("a Telegram group"),
    # the word "ransomware" after it is.
    assert found("the Georgia gang encrypted the files.") == []
    assert found("the Georgia ransomware gang encrypted the files.") == ["Georgia"]
