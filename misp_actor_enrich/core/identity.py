"""One identity per actor: merge the clusters that describe the same actor across galaxies.

``evidence.gather`` weighs what the galaxies say (ATT&CK ids, equal names, names one
cluster lists of another, "same" links); groups of clusters are merged strongest first.
An identity holds one cluster per galaxy, and a merge that would put two clusters of one
galaxy together is refused: within a galaxy the curators already decided these are
different actors, and that single rule keeps umbrella names and loose links from chaining
actors into blobs. Strongest first means the best-supported pairing takes the slot:
threat-actor Tortoiseshell lists three Microsoft clusters, and the one that lists it back wins.

The one exception is a *duplicate*: two clusters of one galaxy for one actor, such as
Microsoft's renamed STRONTIUM and Forest Blizzard. Two clusters are duplicates when one
lists the other's value as written (case aside) or links to it as "same", another galaxy
holds both names in one cluster, they state no different countries, and neither is an
operation. Duplicates are merged last, and only when every galaxy the two sides share
holds duplicates of each other on both sides (threat-actor's APT29 and UNC2452 merge
together with Microsoft's Midnight Blizzard and NOBELIUM). The *primary* of a galaxy's
clusters is the one listing the others (the galaxy records the other as its former or
merged name), then the best connected.

An identity whose threat-actor slot stays empty, or holds only an operation ("Operation
Soft Cell"), may still *reach* the threat-actor cluster with the most evidence (see
``_hub_reach``): reaching adds a tag, never merges two identities.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable, Sequence

from .evidence import SAME_RELATIONS, Evidence, gather
from .models import Actor, Cluster
from .names import strip_operation

IDENTITY_RELATIONS = SAME_RELATIONS
# Reaching a hub cluster needs at least this much evidence, and strictly more than any rival.
REACH_MIN = 2


@dataclass(frozen=True, slots=True)
class Identities:
    """The actors, and where the names of retired (revoked/deprecated) clusters now point."""

    actors: tuple[Actor, ...]
    retired: tuple[tuple[Cluster, int], ...]   # (retired cluster, actor id it was replaced by)
    refused_merges: int                        # evidence ignored because a galaxy would repeat


class _Groups:
    """Union-find over cluster positions that keeps track of each group's members per galaxy."""

    def __init__(self, clusters: Sequence[Cluster]) -> None:
        self.parent = list(range(len(clusters)))
        self.members: list[dict[str, list[int]]] = [{c.galaxy: [i]} for i, c in enumerate(clusters)]
        self.refused = 0

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int, duplicates: frozenset[tuple[int, int]] = frozenset()) -> bool:
        """Merge unless a galaxy would repeat, where only clusters in ``duplicates`` pairs may repeat one."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        left, right = self.members[ra], self.members[rb]
        for galaxy in left.keys() & right.keys():
            if not all((min(x, y), max(x, y)) in duplicates for x in left[galaxy] for y in right[galaxy]):
                self.refused += 1
                return False
        # Keep the earlier position as root so actor order follows galaxy order.
        if rb < ra:
            ra, rb = rb, ra
        for galaxy, positions in self.members[rb].items():
            self.members[ra].setdefault(galaxy, []).extend(positions)
        self.parent[rb] = ra
        return True


def build_identities(clusters: Iterable[Cluster], galaxy_order: Sequence[str]) -> Identities:
    """Group live clusters into actors; map retired clusters to their replacement's actor."""
    rank = {g: i for i, g in enumerate(galaxy_order)}
    every = sorted(clusters, key=lambda c: rank.get(c.galaxy, len(rank)))
    live = [c for c in every if not c.deprecated]
    position = {c.uuid: i for i, c in enumerate(live)}
    evidence = gather(live)
    groups = _Groups(live)
    _merge_strongest_first(live, evidence, groups)
    same_actor = duplicate_pairs(live, evidence)
    allowed = frozenset(same_actor)
    for a, b in same_actor:
        groups.union(a, b, allowed)

    members_of: dict[int, list[int]] = defaultdict(list)
    for i in range(len(live)):
        members_of[groups.find(i)].append(i)
    hub = galaxy_order[0] if galaxy_order else ""
    reach = _hub_reach(live, members_of, hub, evidence)
    actors: list[Actor] = []
    actor_of_root: dict[int, int] = {}
    for root in sorted(members_of):
        ordered = _primaries_first(live, members_of[root], rank, evidence)
        chosen = tuple(live[i] for i in ordered)
        primaries = {c.galaxy: c for c in reversed(chosen)}
        duplicates = tuple(c for c in chosen if primaries[c.galaxy] is not c)
        reached = (live[reach[root]],) if root in reach else ()
        actor_of_root[root] = len(actors)
        actors.append(Actor(id=len(actors), name=chosen[0].name, clusters=chosen, reached=reached,
                            duplicates=duplicates))

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


def _merge_strongest_first(live: Sequence[Cluster], evidence: Evidence, groups: _Groups) -> None:
    """Merge groups of clusters of different galaxies, the best-supported pair of groups first.

    Two groups' support is the strongest kind of evidence between any of their members
    (``Pair.level``), then the sum of every member pair's score: when Microsoft's Mint
    Sandstorm lists both APT35 and Charming Kitten, it joins the group that ATT&CK's
    Magic Hound (which lists it too) has already joined. A pair of groups refused because
    a galaxy would repeat stays refused: groups only grow.
    """
    links: dict[int, dict[int, list[int]]] = defaultdict(dict)     # root -> other root -> [level, score]
    for pair in evidence.pairs:
        if live[pair.a].galaxy != live[pair.b].galaxy:
            links[pair.a][pair.b] = [pair.level, pair.score]
            links[pair.b][pair.a] = [pair.level, pair.score]
    version = [0] * len(live)
    heap = [(-lv, -sc, a, b, 0, 0) for a, others in links.items() for b, (lv, sc) in others.items() if a < b]
    heapq.heapify(heap)
    while heap:
        _, _, a, b, va, vb = heapq.heappop(heap)
        if va != version[a] or vb != version[b] or groups.find(a) != a or groups.find(b) != b:
            continue                                    # a stale entry: one side has grown since
        if not groups.union(a, b):
            continue
        root, other = (a, b) if groups.find(a) == a else (b, a)
        version[root] += 1
        merged = links.pop(root, {})
        for n, (lv, sc) in links.pop(other, {}).items():
            held = merged.setdefault(n, [0, 0])
            held[0], held[1] = max(held[0], lv), held[1] + sc
        merged.pop(root, None)
        merged.pop(other, None)
        links[root] = merged
        for n, (lv, sc) in merged.items():
            links[n].pop(other, None)
            links[n][root] = [lv, sc]
            first, second = (root, n) if root < n else (n, root)
            heapq.heappush(heap, (-lv, -sc, first, second, version[first], version[second]))


def duplicate_pairs(live: Sequence[Cluster], evidence: Evidence) -> list[tuple[int, int]]:
    """Pairs of one galaxy's clusters that describe one actor, strongest first (see the module doc)."""
    holders: dict[str, set[int]] = defaultdict(set)
    for i, keys in enumerate(evidence.names):
        for key in keys:
            holders[key].add(i)
    out: list[tuple[int, int]] = []
    for pair in evidence.pairs:
        a, b = live[pair.a], live[pair.b]
        if a.galaxy != b.galaxy or is_operation(a) or is_operation(b):
            continue            # an operation is filed under its actor (reach), never its duplicate
        exact_listing = any(weight >= 3 for weight in pair.listed.values())
        if not (exact_listing or "linked" in pair.kinds):
            continue
        if _countries(a) and _countries(b) and not _countries(a) & _countries(b):
            continue            # the same name for two actors of different countries (IRIDIUM)
        mutual = len(pair.listed) == 2
        confirmed = mutual or any(
            live[k].galaxy != a.galaxy
            for key_a in evidence.own[pair.a] for key_b in evidence.own[pair.b]
            for k in holders.get(key_a, set()) & holders.get(key_b, set()))
        if confirmed:
            out.append((pair.a, pair.b))
    return out


def _countries(cluster: Cluster) -> frozenset[str]:
    return frozenset(c.strip().upper() for c in cluster.meta.get("country", ()) if c.strip())


def _primaries_first(live: Sequence[Cluster], members: Sequence[int], rank: dict[str, int],
                     evidence: Evidence) -> list[int]:
    """Members in galaxy order; within a galaxy the primary first (it lists the others), then the best linked."""
    if len({live[i].galaxy for i in members}) == len(members):
        return sorted(members, key=lambda i: (rank.get(live[i].galaxy, len(rank)), i))

    def lists_others(i: int) -> int:
        return sum(1 for j in members if j != i and live[j].galaxy == live[i].galaxy
                   and (pair := evidence.between(i, j)) is not None and i in pair.listed)

    def support(i: int) -> int:
        return sum(evidence.score(i, j) for j in members if live[j].galaxy != live[i].galaxy)

    return sorted(members, key=lambda i: (rank.get(live[i].galaxy, len(rank)), -lists_others(i), -support(i),
                                          -len(live[i].synonyms), i))


def is_operation(cluster: Cluster) -> bool:
    """A cluster that names a campaign ("Operation Soft Cell") rather than the actor behind it."""
    return strip_operation(cluster.name) != cluster.name


def _hub_reach(live: Sequence[Cluster], members_of: dict[int, list[int]], hub: str,
               evidence: Evidence) -> dict[int, int]:
    """The hub cluster each identity without its own hub actor reaches, by group root.

    The hub galaxy (threat-actor) sometimes files a group another galaxy keeps apart
    under a bigger actor: ATT&CK's Carbanak under FIN7, Winnti Group under APT41; and
    it has clusters for operations that it links to their actor (Operation Soft Cell to
    GALLIUM). Such an identity keeps its own clusters and *reaches* the hub cluster with
    the most evidence from its members (for an operation: from the operation's own hub
    cluster, so it is the hub galaxy that files it), if that is at least ``REACH_MIN``
    and no other hub cluster has as much. Ties and weak evidence reach nothing.
    """
    hubs = [i for i, c in enumerate(live) if c.galaxy == hub]
    hub_set = set(hubs)
    reach: dict[int, int] = {}
    for root, members in members_of.items():
        own_hubs = [i for i in members if i in hub_set]
        if any(not is_operation(live[i]) for i in own_hubs):
            continue
        # An operation is filed under an actor by the hub galaxy itself (a link, a listing).
        witnesses = own_hubs or members
        scores: dict[int, int] = defaultdict(int)
        for i in witnesses:
            for pair in evidence.pairs_of(i):
                other = pair.b if pair.a == i else pair.a
                if other in hub_set and other not in members:
                    scores[other] += pair.score
        ranked = sorted(scores.items(), key=lambda hs: (-hs[1], hs[0]))
        if ranked and ranked[0][1] >= REACH_MIN and (len(ranked) == 1 or ranked[1][1] < ranked[0][1]):
            reach[root] = ranked[0][0]
    return reach

