"""Galaxy tags an attribute already carries: an analyst's decision the module never contradicts.

MISP attaches a cluster by tag name, ``misp-galaxy:<type>="<value>"`` (or the cluster
uuid for custom clusters). When the input attribute carries such a tag for an actor
galaxy, the answer is that actor, whatever its value says; a tag naming a cluster the
data in use does not know means the module must not tag anything of its own. A tag of the
ransomware galaxy, which also names malware, decides only when the value names that
operation too (our own canonical attribute "LockBit"); an actor's attribute an analyst tagged
with the ransomware it used keeps being answered by its name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from ..core.galaxy import RANSOMWARE
from ..core.knowledge import Knowledge
from ..core.models import Actor, Candidate, Cluster, Resolution, Status, Tier

_GALAXY_TAG = re.compile(r'^misp-galaxy:([^:="]+)="([^"]+)"$', re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ExistingTags:
    actors: tuple[tuple[Actor, str], ...] = ()   # (actor, the tag that names it)
    unknown: tuple[str, ...] = ()                # actor-galaxy tags our data cannot place

    @property
    def decided(self) -> bool:
        return bool(self.actors or self.unknown)


def read_existing(tag_names: Iterable[str], knowledge: Knowledge, value: str | None = None) -> ExistingTags:
    """The actors the attribute's galaxy tags name, and the actor tags we cannot place.

    A tag naming only a cluster another tagged actor's answer carries is not a second
    decision: our own answer puts ``threat-actor="FIN7"`` on Carbanak's attribute (the hub
    it reaches) and ``threat-actor="BITWISE SPIDER"`` on LockBit's (its operator), and
    reading them back as "FIN7 too" would make re-enrichment grow. ``value``: the
    attribute's value, which a ransomware tag must agree with.
    """
    named: dict[int, tuple[Actor, str, list[Cluster]]] = {}
    unknown: list[str] = []
    for name in tag_names:
        match = _GALAXY_TAG.match(name.strip())
        if not match or match.group(1).lower() not in knowledge.galaxy_types:
            continue
        galaxy = match.group(1).lower()
        found = knowledge.cluster_for_tag(galaxy, match.group(2))
        if galaxy == RANSOMWARE and (found is None or not _named_by(value, found[0], knowledge)):
            continue                # malware the actor used, or an operation the value does not name
        if found is None:
            unknown.append(name)
        else:
            actor, cluster = found
            named.setdefault(actor.id, (actor, name, []))[2].append(cluster)
    reached = {c.uuid for actor, _, _ in named.values() for c in actor.carried}
    actors = tuple((actor, tag) for actor, tag, clusters in named.values()
                   if not all(c.uuid in reached for c in clusters))
    return ExistingTags(actors, tuple(unknown))


def decided_resolution(query: str, existing: ExistingTags) -> Resolution:
    """The resolution an analyst's tags dictate: every tagged actor, resolved."""
    candidates = tuple(Candidate(actor, Tier.TAGGED, tag, 1.0) for actor, tag in existing.actors)
    tags = ", ".join(tag for _, tag in existing.actors)
    return Resolution(query, Status.RESOLVED, candidates, reason=f"the attribute is already tagged {tags}")


def _named_by(value: str | None, actor: Actor, knowledge: Knowledge) -> bool:
    """The attribute's value names this actor (among the candidates of its name)."""
    return value is not None and any(c.actor is actor for c in knowledge.resolve(value).candidates)
