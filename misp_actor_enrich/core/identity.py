"""One identity per actor: merge the clusters that describe the same actor across galaxies.

Evidence, strongest first: a shared ATT&CK group id (G0067), the same primary name,
explicit ``related`` links of type "similar"/"same-as" (mutual links before one-way
ones), then the same name without generic words ("Sandworm Team" / "Sandworm"). An identity holds at most one cluster per galaxy, and a merge that
would put two clusters of one galaxy together is refused. That single rule is what
stops umbrella names and loose "similar" links from chaining actors into blobs:
within a galaxy, the curators already decided these are different actors.

An identity with no cluster in the hub galaxy (threat-actor) may still *reach* one
hub cluster (see ``_hub_reach``); reaching adds a tag, never merges two identities.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable, Sequence

from .galaxy import attack_ids
from .models import Actor, Cluster
from .names import normalise, strip_generic

IDENTITY_RELATIONS = frozenset({"similar", "same-as", "synonym-of", "is-alias-of"})


@dataclass(frozen=True, slots=True)
class Identities:
    """The actors, and where the names of retired (revoked/deprecated) clusters now point."""

    actors: tuple[Actor, ...]
    retired: tuple[tuple[Cluster, int], ...]   # (retired cluster, actor id it was replaced by)
    refused_merges: int                        # evidence ignored because a galaxy would repeat


class _Groups:
    """Union-find over cluster positions that keeps track of each group's galaxies."""

    def __init__(self, clusters: Sequence[Cluster]) -> None:
        self.parent = list(range(len(clusters)))
        self.galaxies: list[set[str]] = [{c.galaxy} for c in clusters]
        self.refused = 0

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        if self.galaxies[ra] & self.galaxies[rb]:
            self.refused += 1
            return
        # Keep the earlier position as root so actor order follows galaxy order.
        if rb < ra:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.galaxies[ra] |= self.galaxies[rb]


def build_identities(clusters: Iterable[Cluster], galaxy_order: Sequence[str]) -> Identities:
    """Group live clusters into actors; map retired clusters to their replacement's actor."""
    rank = {g: i for i, g in enumerate(galaxy_order)}
    every = sorted(clusters, key=lambda c: rank.get(c.galaxy, len(rank)))
    live = [c for c in every if not c.deprecated]
    position = {c.uuid: i for i, c in enumerate(live)}
    groups = _Groups(live)

    for members in _shared_attack_ids(live):
        for other in members[1:]:
            groups.union(members[0], other)
    by_name: dict[str, list[int]] = defaultdict(list)
    for i, cluster in enumerate(live):
        key = normalise(cluster.name)
        if key:
            by_name[key].append(i)
    for members in by_name.values():
        for other in members[1:]:
            groups.union(members[0], other)
    mutual, one_way = _identity_links(live, position)
    for a, b in (*mutual, *one_way):
        groups.union(a, b)
    # Weakest: the same name once generic words are dropped ("Sandworm Team" / "Sandworm").
    by_stripped: dict[str, list[int]] = defaultdict(list)
    for i, cluster in enumerate(live):
        key = normalise(strip_generic(cluster.name))
        if key:
            by_stripped[key].append(i)
    for members in by_stripped.values():
        for other in members[1:]:
            groups.union(members[0], other)

    members_of: dict[int, list[int]] = defaultdict(list)
    for i in range(len(live)):
        members_of[groups.find(i)].append(i)
    hub = galaxy_order[0] if galaxy_order else ""
    reach = _hub_reach(live, position, hub, groups)
    actors: list[Actor] = []
    actor_of_root: dict[int, int] = {}
    for root in sorted(members_of):
        members = sorted(members_of[root], key=lambda i: (rank.get(live[i].galaxy, len(rank)), i))
        chosen = tuple(live[i] for i in members)
        reached = (live[reach[root]],) if root in reach else ()
        actor_of_root[root] = len(actors)
        actors.append(Actor(id=len(actors), name=chosen[0].name, clusters=chosen, reached=reached))

    retired: list[tuple[Cluster, int]] = []
    for cluster in every:
        if not cluster.deprecated:
            continue
        target = next((position[r.dest_uuid] for r in cluster.related
                       if r.type == "revoked-by" and r.dest_uuid in position), None)
        if target is None:
            target = next((position[r.dest_uuid] for r in cluster.related
                           if r.type in IDENTITY_RELATIONS and r.dest_uuid in position), None)
        if target is not None:
            retired.append((cluster, actor_of_root[groups.find(target)]))
    return Identities(actors=tuple(actors), retired=tuple(retired), refused_merges=groups.refused)


def _hub_reach(live: Sequence[Cluster], position: dict[str, int], hub: str, groups: _Groups) -> dict[int, int]:
    """For identities without a hub-galaxy cluster, the hub cluster they reach, by group root.

    The hub galaxy (threat-actor) sometimes files a group another galaxy keeps apart
    under a bigger actor: ATT&CK's Carbanak under FIN7, Winnti Group under APT41. Such
    an identity keeps its own clusters and *reaches* the hub cluster with the most
    evidence: links either way (2 each), the hub listing its ATT&CK id (3), the hub
    listing its name as a synonym (1). Ties and weak evidence reach nothing.
    """
    hubs = [i for i, c in enumerate(live) if c.galaxy == hub]
    by_synonym: dict[str, list[int]] = defaultdict(list)
    by_id: dict[str, list[int]] = defaultdict(list)
    for h in hubs:
        for name in live[h].synonyms:
            by_synonym[normalise(name)].append(h)
        for attack_id in attack_ids(live[h]):
            by_id[attack_id].append(h)
    links_to_hub: dict[int, list[int]] = defaultdict(list)
    for h in hubs:
        for rel in live[h].related:
            j = position.get(rel.dest_uuid)
            if j is not None and rel.type in IDENTITY_RELATIONS:
                links_to_hub[j].append(h)
    covered = {groups.find(h) for h in hubs}
    scores: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for i, cluster in enumerate(live):
        root = groups.find(i)
        if root in covered:
            continue
        score = scores[root]
        for rel in cluster.related:
            j = position.get(rel.dest_uuid)
            if j is not None and live[j].galaxy == hub and rel.type in IDENTITY_RELATIONS:
                score[j] += 2
        for h in links_to_hub.get(i, ()):
            score[h] += 2
        for attack_id in attack_ids(cluster):
            for h in by_id.get(attack_id, ()):
                score[h] += 3
        for h in by_synonym.get(normalise(cluster.name), ()):
            score[h] += 1
    reach: dict[int, int] = {}
    for root, score in scores.items():
        ranked = sorted(score.items(), key=lambda hs: -hs[1])
        if ranked and ranked[0][1] >= 2 and (len(ranked) == 1 or ranked[1][1] < ranked[0][1]):
            reach[root] = ranked[0][0]
    return reach


def _shared_attack_ids(live: Sequence[Cluster]) -> list[list[int]]:
    """Positions grouped by ATT&CK id, using only clusters that state exactly one id.

    A threat-actor cluster listing two ids (Lazarus Group: G0032 and G0082) is an
    umbrella; its id evidence is ignored and names/links decide instead.
    """
    by_id: dict[str, list[int]] = defaultdict(list)
    for i, cluster in enumerate(live):
        ids = attack_ids(cluster)
        if len(ids) == 1:
            by_id[ids[0]].append(i)
    return [m for m in by_id.values() if len(m) > 1]


def _identity_links(live: Sequence[Cluster], position: dict[str, int]) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    links: set[tuple[int, int]] = set()
    for i, cluster in enumerate(live):
        for rel in cluster.related:
            j = position.get(rel.dest_uuid)
            if j is not None and j != i and rel.type in IDENTITY_RELATIONS and live[j].galaxy != cluster.galaxy:
                links.add((i, j))
    mutual = sorted((a, b) for a, b in links if a < b and (b, a) in links)
    one_way = sorted((a, b) for a, b in links if (b, a) not in links)
    return mutual, one_way
