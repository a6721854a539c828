"""Knowledge: the actors, their alias index and targeting vocabulary, built from parsed clusters.

Pure: ``data.store.load_knowledge`` reads a data folder into one, and
``data.runtime.current()`` holds the process-wide instance. Everything a Knowledge
holds is immutable, so readers need no lock; a rebuild makes a new one and swaps
the reference.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from .aliases import AliasIndex
from .galaxy import DEFAULT_GALAXIES, RANSOMWARE, GalaxyInfo
from .identity import build_identities
from .models import Actor, Cluster, Resolution, Targeting
from .overrides import SiteOverrides
from .overrides import apply as apply_overrides
from .ransomware import join as join_ransomware
from .targeting import targeting_for
from .text_scan import TextScanner
from .vocabulary import Vocabulary


@dataclass(frozen=True, slots=True)
class DataOrigin:
    """Which data is in use, for status output and object comments."""

    label: str
    path: Path
    galaxies: tuple[GalaxyInfo, ...]
    warnings: tuple[str, ...] = ()      # what loading skipped (broken entries), for status and the log


class Knowledge:
    def __init__(self, clusters: Iterable[Cluster], vocabulary: Vocabulary, origin: DataOrigin,
                 galaxy_order: Sequence[str] = DEFAULT_GALAXIES, overrides: SiteOverrides | None = None) -> None:
        order = list(galaxy_order) + sorted({g.type for g in origin.galaxies} - set(galaxy_order))
        rank = {g: i for i, g in enumerate(order)}
        ordered = sorted(clusters, key=lambda c: rank.get(c.galaxy, len(rank)))
        applied = apply_overrides(overrides, ordered) if overrides is not None else None
        # Actors from the actor galaxies first; ransomware clusters then join them or stand alone.
        ransom = {c.uuid for c in ordered if c.galaxy == RANSOMWARE}
        site = applied.clusters if applied else ()
        on_ransom = [c for c in site if any(r.dest_uuid in ransom for r in c.related)]
        identities = build_identities([*(c for c in ordered if c.galaxy != RANSOMWARE),
                                       *(c for c in site if c not in on_ransom)], order)
        joined = join_ransomware(identities, (c for c in ordered if c.galaxy == RANSOMWARE), on_ransom, order)
        identities = joined.identities
        # What was decided about each ransomware operation and why (benchmarks/report_ransomware.py).
        self.ransomware_statements = joined.statements
        self.origin = origin
        self.vocabulary = vocabulary
        self.overrides = overrides
        self.warnings: tuple[str, ...] = (*origin.warnings, *(applied.warnings if applied else ()))
        if applied is None:
            self.index = AliasIndex(identities)
        else:
            actor_of = {c.uuid: a.id for a in identities.actors for c in a.clusters}
            self.index = AliasIndex(
                identities, ignore=applied.ignore,
                ignore_for=frozenset((name, actor_of[u]) for name, u in applied.ignore_for if u in actor_of),
                pins={name: actor_of[u] for name, u in applied.pins.items() if u in actor_of})
        self.actors: tuple[Actor, ...] = identities.actors
        self.refused_merges = identities.refused_merges
        self.galaxy_types = frozenset(g.type for g in origin.galaxies)
        self._targeting: dict[int, Targeting] = {}
        self._scanner: TextScanner | None = None
        self._scanner_lock = threading.Lock()
        # Tag values (and uuids, which custom clusters use in tags) -> (actor, cluster), per galaxy.
        self._by_tag_value: dict[tuple[str, str], tuple[Actor, Cluster]] = {}
        for actor in self.actors:
            for cluster in actor.clusters:
                self._by_tag_value[(cluster.galaxy, cluster.value.casefold())] = (actor, cluster)
                self._by_tag_value[(cluster.galaxy, cluster.uuid)] = (actor, cluster)
        for cluster, actor_id in identities.retired:
            self._by_tag_value.setdefault((cluster.galaxy, cluster.value.casefold()), (self.actors[actor_id], cluster))

    def cluster_for_tag(self, galaxy: str, value: str) -> tuple[Actor, Cluster] | None:
        """The cluster a galaxy tag names (by value, case-insensitively, or by uuid) and its actor."""
        return self._by_tag_value.get((galaxy, value.strip().casefold()))

    def resolve(self, name: str) -> Resolution:
        return self.index.resolve(name)

    @property
    def scanner(self) -> TextScanner:
        """The free-text scanner, built on first use (tens of ms; most deployments never need it)."""
        if self._scanner is None:
            with self._scanner_lock:
                if self._scanner is None:
                    self._scanner = TextScanner.from_knowledge(self)
        return self._scanner

    def targeting(self, actor: Actor) -> Targeting:
        # Computed on demand: most actors are never asked about. A race only computes twice.
        found = self._targeting.get(actor.id)
        if found is None:
            found = targeting_for(actor.clusters, self.vocabulary)
            self._targeting[actor.id] = found
        return found
