"""What an actor name means besides the actor: the word tables behind the free-text scanner's caution.

A name's sense depends on the name alone (its words), never on the galaxy that holds it,
so every galaxy's names get the same treatment: threat actors today, ransomware groups
("Royal", "Hive", "Cuba") when their galaxy is read. ``NameSenses.of`` is the one entry
point; the scanner asks it once per indexed name, so a new galaxy's names need nothing but
their words in the tables below (a country such as "Cuba" needs not even that).

* ``ORDINARY``: an everyday word or phrase ("Reaper", "Silence", "Conference", "Big Bang"),
  a chemical element, a country or region of the vocabulary galaxies, a name of three
  letters or fewer, "Group 3". Security texts use these words in their own sense too, so
  one counts only with evidence beside it ("the Reaper group", "known as Silence").
* ``OTHER_MEANING``: a proper name or thing of another field that security prose does not
  use in that sense: a biblical figure (Lazarus), a god or monster (Poseidon, Medusa), a
  fictional creature (Sandworm), a river (Turla), an insect, a mineral, a moon or star, a
  spacecraft, a film, a given name. One counts in a text about security
  (``security_context``), or with the evidence an ordinary word needs.
* ``DISTINCTIVE``: anything else (APT37, Kimsuky, Fancy Bear): counts wherever it is
  written as a name.

Where the knowledge comes from, and why: no actor galaxy records that Lazarus is also a
biblical figure or that Xenotime is a mineral, so those are word tables, kept here, written
from a pass over every name of the bundled and the older galaxy data. Places come from the
data instead: the target-information and region galaxies list every country and region,
so a name that is one of them needs no table entry (``places``).
"""

from __future__ import annotations

import re
from enum import IntEnum
from typing import Callable, Iterable

from .ordinary import ORDINARY_PHRASES as RANSOMWARE_PHRASES
from .ordinary import ORDINARY_WORDS as RANSOMWARE_WORDS

_WORD = re.compile(r"[^\W\d_]+|\d+")       # letter runs and digit runs, as the scanner cuts text


class Sense(IntEnum):
    """How much a name needs around it to count as an actor; a higher value needs more."""

    DISTINCTIVE = 0
    OTHER_MEANING = 1
    ORDINARY = 2


def _words(spec: str) -> frozenset[str]:
    return frozenset(spec.split())


def _phrases(spec: str) -> frozenset[str]:
    return frozenset(" ".join(p.split()) for p in spec.split(",") if p.strip())


# Everyday words, and words security prose uses in their own sense (tools, places, products).
ORDINARY_WORDS = _words("""
    amoeba anonymous antlion armageddon axiom basin beijing belsen billbug bitter blackfly blackjack
    boron bottle bromine buckeye budworm butterfly calc cardinal castle chafer chameleon chimera
    chrysene cicada cleaver cobalt combine comment conference copper covenant deadwood desorden
    dogfish dukes dune electrum elbrus elfin equation fallout foudre foxmail foxtrot gaza gentlemen
    ghostwriter gold golem gorilla grayling groundbait hacking hangover haymaker hellfire hexane hippo
    honeybee hoodoo horde inception iron karma karst koala krypton lead leafminer lexus longhorn lurid
    lyceum machete magecart mana mantis mask massgrave maze mercury mirage monsoon moonlight morpho
    nazar newscaster nickel nitro oxygen pacha pacifier packrat paladin palmerworm parasite patchwork
    phantom phosphorus pickaxe pioneer play polaris pupa rancor rattlesnake reaper reuse royal sandman
    scarab scimitar sharpshooter shell sidewinder siesta silence silicon silverfish slingshot snake
    snowglobe sowbug springtail strider sulfur sulphur summit swallowtail tailgater tantalum templar
    tick topgear trident tsar underground unnamed venom vermin voyeur watchdog waterbug webworm
    whitefly whois wildcard wisp wraith yanbian zinc
""")
ORDINARY_PHRASES = _phrases("""
    animal farm, bad magic, big bang, brown fox, cloud atlas, cold river, common raven, copy paste,
    crescent and star, cyber alliance, deputy dog, desert falcon, double dragon, evil eye, genesis day,
    golden rat, grey cloud, guardian of peace, guardians of peace, holy souls, lucky cat, luna moth,
    pla navy, prince of persia, red eyes, red wolf, rotten tomato, salted earth, sands casino,
    shadow campaigns, shadow network, silver fox, snake wine, social network, space pirates, sphinx moth,
    storm cloud, tortoise shell, ugly face, white bear, white company
""")

# Proper names and things of other fields, by field; security prose names them only as actors.
OTHER_MEANINGS: dict[str, frozenset[str]] = {
    "myth, religion and legend": _words("""
        adrastea andariel anunak bahamut calypso callisto frankenstein gorgon hecamede indra kairos
        lamashtu lazarus leviathan medusa nian poseidon sauron uroburos windigo
    """),
    "fiction, film and toys": _words("akira handala labubu popeye quarian sandworm superman tonto"),
    "people and their names": _words("confucius hastati kazu madi markopolo mogilevich sarit sima vovan"),
    "insects and other animals": _words("""
        appleworm candiru carderbee crambus daggerfly dragonfly hyadina jewelbug jointworm karakurt lancefly
        nodaria orangeworm seedworm shuckworm stonefly suckfly thrip timberworm tortoiseshell vedalia
        witchetty
    """),
    "minerals": _words("allanite chernovite covellite parisite raspite voltzite wassonite xenotime"),
    "stars, moons and spacecraft": _words("auriga zarya"),
    "places and rivers": _words("calanque chimborazo kasablanka parinacota pukchong solntsepek turla"),
}
OTHER_PHRASES = _phrases("""
    c major, dust storm, elephant beetle, emperor dragonfly, lotus blossom, neva flood, oka flood,
    ruza flood, saffron rose, sea turtle, sefid flood, taizi flood, velvet ant, volga flood, yulong flood
""")
_OTHER_WORDS = frozenset().union(*OTHER_MEANINGS.values())
_GENERIC_FIRST = frozenset({"group", "team", "unit", "actor"})


class NameSenses:
    """The sense of any name; ``places`` says whether a name is a country or region (vocabulary galaxies)."""

    def __init__(self, places: Callable[[str], object] | None = None) -> None:
        self._places = places

    def of(self, name: str) -> Sense:
        """The sense of a name as written in the data ("the Lazarus Group", "Reaper", "APT 37")."""
        return self.of_words(tuple(w.casefold() for w in _WORD.findall(name)), name)

    def everyday(self, name: str) -> bool:
        """True for a word or phrase the tables call ordinary, or a place: "Iron" (of "Iron Group") is no name."""
        tokens = [w.casefold() for w in _WORD.findall(name)]
        phrase = " ".join(tokens[1:] if len(tokens) > 1 and tokens[0] == "the" else tokens)
        return phrase in ORDINARY_WORDS or phrase in ORDINARY_PHRASES or (
            self._places is not None and bool(self._places(name)))

    def of_words(self, words: Iterable[str], name: str | None = None) -> Sense:
        """The same for a name already cut into case-folded words (letter runs and digit runs)."""
        tokens = tuple(words)
        if len(tokens) > 1 and tokens[0] == "the":
            tokens = tokens[1:]
        if not tokens:
            return Sense.DISTINCTIVE
        phrase = " ".join(tokens)
        if len(tokens) == 1:
            word = tokens[0]
            if word.isalpha() and (word in ORDINARY_WORDS or word in RANSOMWARE_WORDS or word.endswith("ium")
                                   or len(word) <= 3):
                return Sense.ORDINARY
        elif len(tokens) == 2 and tokens[0] in _GENERIC_FIRST and tokens[1].isdigit():
            if int(tokens[1]) < 1000:          # "Group 3", "Unit 121"; "Unit 8200" is a name
                return Sense.ORDINARY
        elif phrase in ORDINARY_PHRASES or phrase in RANSOMWARE_PHRASES:
            return Sense.ORDINARY
        if self._places is not None and self._places(name if name is not None else phrase):
            return Sense.ORDINARY
        if phrase in OTHER_PHRASES or (len(tokens) == 1 and tokens[0] in _OTHER_WORDS):
            return Sense.OTHER_MEANING
        return Sense.DISTINCTIVE
