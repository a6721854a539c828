"""Frozen result types shared by the pure core: clusters, actors, targeting, resolutions.

Nothing here knows about MISP requests, PyMISP or files; these are plain values
that the core computes once and the edges (module, CLI) render.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Mapping

_ATTACK_SUFFIX = re.compile(r"\s+-\s+G\d{4}$")
# The pseudo galaxy of site overrides (extra names, private actors): MISP has no such galaxy, so never tagged.
SITE_GALAXY = "site-overrides"
RANSOMWARE_GALAXY = "ransomware"       # galaxy.RANSOMWARE; models cannot import galaxy (galaxy imports models)


@dataclass(frozen=True, slots=True)
class Relation:
    """One entry of a cluster's ``related`` list."""

    dest_uuid: str
    type: str


@dataclass(frozen=True, slots=True, eq=False)
class Cluster:
    """One galaxy cluster as read from misp-galaxy data, with its quirks smoothed out.

    ``meta`` holds every meta field as a tuple of strings: the data has fields that
    are a string in one cluster and a list in the next.
    """

    galaxy: str
    uuid: str
    value: str
    synonyms: tuple[str, ...]
    description: str
    meta: Mapping[str, tuple[str, ...]]
    refs: tuple[str, ...]
    related: tuple[Relation, ...]
    deprecated: bool = False
    # The instance's own tag for the cluster, when the data came from a MISP instance
    # (custom clusters are tagged by uuid: misp-galaxy:threat-actor="<uuid>").
    tag_name: str | None = None

    @property
    def name(self) -> str:
        """The name the cluster gives its actor: ATT&CK's "APT37 - G0067" is "APT37"."""
        return _ATTACK_SUFFIX.sub("", self.value)

    @property
    def taggable(self) -> bool:
        return self.galaxy != SITE_GALAXY

    @property
    def tag(self) -> str:
        """The MISP tag that attaches this cluster (canonical value, galaxy type)."""
        return self.tag_name or f'misp-galaxy:{self.galaxy}="{self.value}"'


@dataclass(frozen=True, slots=True, eq=False)
class Actor:
    """One identity: the clusters that describe the same actor across galaxies.

    ``clusters`` is in configured galaxy order with one *primary* cluster per galaxy,
    each followed by that galaxy's ``duplicates`` of it, if any (Microsoft's STRONTIUM
    after Forest Blizzard); ``name`` is the primary name of the first (threat-actor
    when it has one). Every cluster is tagged: see the README on duplicates.
    """

    id: int
    name: str
    clusters: tuple[Cluster, ...]
    # Hub-galaxy clusters this actor reaches without being them: ATT&CK's Carbanak has
    # its own identity, but threat-actor files it under FIN7, so "Anunak" reaches FIN7.
    reached: tuple[Cluster, ...] = ()
    # Clusters of ``clusters`` that repeat a galaxy: the same actor filed twice there.
    duplicates: tuple[Cluster, ...] = ()
    # A ransomware operation: clusters of the identities the galaxies say run it (threat-actor's
    # BITWISE SPIDER "uses" LockBit; Tidal's "Cuba Ransomware Actors"). Tagged with it, like ``reached``.
    operators: tuple[Cluster, ...] = ()
    # An actor: the ransomware clusters it runs (the other side of ``operators``), said, not tagged.
    operates: tuple[Cluster, ...] = ()

    @property
    def primaries(self) -> tuple[Cluster, ...]:
        """One cluster per galaxy: ``clusters`` without the duplicates."""
        return tuple(c for c in self.clusters if c not in self.duplicates)

    @property
    def carried(self) -> tuple[Cluster, ...]:
        """Other identities' clusters this actor's answer also tags: the hub it reaches, its operators."""
        return (*self.reached, *self.operators)

    @property
    def ransomware(self) -> tuple[Cluster, ...]:
        """The ransomware galaxy's clusters of this identity (a ransomware operation), if any."""
        return tuple(c for c in self.clusters if c.galaxy == RANSOMWARE_GALAXY)

    @property
    def tags(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.tag for c in (*self.clusters, *self.carried) if c.taggable))

    @property
    def aliases(self) -> tuple[str, ...]:
        """Every name the clusters give, first-seen order, without the primary name."""
        seen = {self.name.casefold()}
        out: list[str] = []
        for cluster in self.clusters:
            for name in (cluster.name, *cluster.synonyms):
                key = name.casefold()
                if key not in seen:
                    seen.add(key)
                    out.append(name)
        return tuple(out)

    @property
    def galaxies(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.galaxy for c in (*self.clusters, *self.carried)))


# --- targeting -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Source:
    """Where a piece of targeting came from: galaxy, cluster value and field.

    ``field`` is the meta key (``cfr-suspected-victims``) or ``description``
    when the item was read from the cluster's free-text description; then
    ``sentence`` is the sentence that said it.
    """

    galaxy: str
    cluster: str
    field: str
    sentence: str | None = None

    @property
    def from_description(self) -> bool:
        return self.field == "description"


@dataclass(frozen=True, slots=True)
class TargetItem:
    """One targeting fact, normalised to MISP vocabulary where possible.

    ``value`` is the vocabulary value (``South Korea`` from the target-information
    galaxy, ``Aerospace`` from the sector galaxy) or the original text when no
    vocabulary entry fits; ``originals`` keeps what the sources actually said.
    ``code`` is the ISO 3166-1 alpha-2 code for countries. ``galaxy_tag`` is the
    MISP tag of the vocabulary cluster, when there is one.
    """

    value: str
    originals: tuple[str, ...]
    sources: tuple[Source, ...]
    code: str | None = None
    galaxy_tag: str | None = None

    @property
    def structured(self) -> bool:
        """True when at least one source is a structured meta field."""
        return any(not s.from_description for s in self.sources)

    @property
    def support(self) -> int:
        """How many independent sources say it.

        One cluster is one source, whatever fields of it say so (its structured
        field and its description are one curator's word). Clusters of different
        galaxies are independent, except that description sentences with the same
        text count once: galaxies copy each other's prose (Tidal copies ATT&CK).
        """
        return _independent(self.sources)


def _independent(sources: tuple[Source, ...]) -> int:
    parent: dict[object, object] = {}

    def find(key: object) -> object:
        while parent.setdefault(key, key) != key:
            key = parent[key]
        return key

    for s in sources:
        cluster: object = ("cluster", s.galaxy, s.cluster)
        find(cluster)
        if s.sentence is not None:
            parent[find(("sentence", " ".join(s.sentence.casefold().split())))] = find(cluster)
    return len({find(("cluster", s.galaxy, s.cluster)) for s in sources})


@dataclass(frozen=True, slots=True)
class Targeting:
    """An actor's known targeting, merged over its clusters; each category most-supported first.

    ``domestic`` holds victim countries that are the actor's own (its origin or
    sponsor), kept only because a source says the actor attacked there: a
    structured victim field, or a description sentence that says so ("its own
    citizens", "Iranian dissidents" for an Iranian actor). They never appear in
    ``countries``, so a renderer that shows victims never shows the home country
    without saying so.
    """

    countries: tuple[TargetItem, ...] = ()
    regions: tuple[TargetItem, ...] = ()
    organisations: tuple[TargetItem, ...] = ()
    sectors: tuple[TargetItem, ...] = ()
    incident_types: tuple[TargetItem, ...] = ()
    sponsors: tuple[TargetItem, ...] = ()
    origins: tuple[TargetItem, ...] = ()
    motives: tuple[TargetItem, ...] = ()
    domestic: tuple[TargetItem, ...] = ()

    def items(self) -> tuple[TargetItem, ...]:
        return (
            *self.countries, *self.regions, *self.organisations, *self.sectors,
            *self.incident_types, *self.sponsors, *self.origins, *self.motives, *self.domestic,
        )

    @property
    def victims(self) -> tuple[TargetItem, ...]:
        """What was targeted abroad (as opposed to who targets): countries, regions, organisations, sectors."""
        return (*self.countries, *self.regions, *self.organisations, *self.sectors)

    @property
    def empty(self) -> bool:
        return not self.victims and not self.domestic and not self.incident_types and not self.motives


# --- resolution ------------------------------------------------------------


class Status(str, Enum):
    RESOLVED = "resolved"
    AMBIGUOUS = "ambiguous"
    SUGGESTED = "suggested"
    UNKNOWN = "unknown"


class Tier(int, Enum):
    """Match tiers, best first; a lower value always wins."""

    TAGGED = 0       # the attribute already carries the actor's galaxy tag: the analyst decided
    VALUE = 1        # a cluster's own value
    SYNONYM = 2      # a listed synonym
    NORMALISED = 3   # equal after normalisation (case, width, spacing, punctuation)
    QUALIFIED = 4    # equal after dropping qualifiers ("the ... group", "(Russia)")
    SUGGESTION = 5   # near miss, never tagged by default

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class Candidate:
    """One actor a query may mean, with how it matched."""

    actor: Actor
    tier: Tier
    matched: str          # the galaxy name that matched (value or synonym, as written in the data)
    score: float          # 1.0 for exact tiers; similarity for suggestions

    @property
    def tags(self) -> tuple[str, ...]:
        return self.actor.tags


@dataclass(frozen=True, slots=True)
class Resolution:
    """The answer for one query: status, candidates best first, and the reason in words."""

    query: str
    status: Status
    candidates: tuple[Candidate, ...] = ()
    reason: str = ""
    pinned: bool = field(default=False)
    # Said beside the answer: the ransomware galaxy also has the name, for an operation the answer is not.
    note: str = ""

    @property
    def actor(self) -> Actor | None:
        """The actor when the resolution is unambiguous."""
        if self.status is Status.RESOLVED and self.candidates:
            return self.candidates[0].actor
        return None
