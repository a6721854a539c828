"""Evidence that two clusters describe one actor, weighed: what ``identity`` merges on.

Everything the galaxies say about sameness counts, each kind with a weight:

* a shared ATT&CK group id (clusters stating exactly one) ................ 8
* the same primary name ("APT37" / "APT37 - G0067" / "ScarCruft - APT-C-28") 6
* one cluster lists the other's name as a synonym, per direction .......... 3
  (2 when the two spellings differ by more than case: "COLDRIVER" / "Cold River";
  nothing when another cluster of the lister's galaxy lists the name too)
* a ``related`` link that says "same" (similar, same-as ...), per direction  2
  ("overlaps" only counts when both clusters say it of each other)
* the same name without generic words or "Operation" ...................... 1
* other names both clusters list, one each, at most ....................... 3

Only the last one never creates evidence on its own: it breaks ties between rivals
(Tortoiseshell lists three Microsoft clusters; the one that lists it back and shares
its other names wins). ``Pair.level`` ranks a pair by its strongest kind (an ATT&CK id,
then the same name, a listing both ways, a listing, a link, a stripped name); merging
goes by level first and by score within a level, so a pile of weak hints never
outweighs one strong statement. Pure and deterministic.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from .galaxy import ATTACK_ID as ATTACK_ID_FORMAT
from .galaxy import attack_ids
from .models import Cluster
from .names import normalise, strip_generic, strip_operation

_ID_SUFFIX = re.compile(r"\s-\s(G\d{4})$")
# 360's values carry their own id: "DomesticKitten - APT-C-50" names DomesticKitten.
_360_SUFFIX = re.compile(r"\s+-\s+APT-C-\d+$")
SAME_RELATIONS = frozenset({"similar", "same-as", "synonym-of", "is-alias-of"})
MUTUAL_RELATIONS = frozenset({"overlaps"})          # "same" only when both sides say it

ATTACK_ID = 8
SAME_NAME = 6
LISTED = 3
LISTED_LOOSELY = 2
LINKED = 2
STRIPPED_NAME = 1
SHARED_NAMES_MAX = 3


@dataclass(slots=True)
class Pair:
    """The evidence between two cluster positions ``a < b``."""

    a: int
    b: int
    kinds: set[str] = field(default_factory=set)
    score: int = 0
    listed: dict[int, int] = field(default_factory=dict)   # lister position -> best listing weight

    def add(self, kind: str, weight: int) -> None:
        self.kinds.add(kind)
        self.score += weight

    @property
    def level(self) -> int:
        """The strongest kind of evidence: pairs are merged by level first, then by score."""
        if "attack-id" in self.kinds:
            return 5
        if "same-name" in self.kinds:
            return 4
        if len(self.listed) == 2:
            return 3
        if any(weight == LISTED for weight in self.listed.values()):
            return 2
        return 1 if self.listed or "linked" in self.kinds else 0


@dataclass(frozen=True, slots=True)
class Evidence:
    """Pairwise evidence over one list of clusters, strongest first."""

    pairs: tuple[Pair, ...]
    by_pair: dict[tuple[int, int], Pair]
    by_position: dict[int, tuple[Pair, ...]]
    own: tuple[frozenset[str], ...]            # per position: the normalised value and name
    names: tuple[frozenset[str], ...]          # per position: every normalised name it holds

    def between(self, a: int, b: int) -> Pair | None:
        return self.by_pair.get((a, b) if a < b else (b, a))

    def pairs_of(self, i: int) -> tuple[Pair, ...]:
        return self.by_position.get(i, ())

    def score(self, a: int, b: int) -> int:
        pair = self.between(a, b)
        return pair.score if pair else 0


def gather(clusters: Sequence[Cluster]) -> Evidence:
    """Evidence for every pair of clusters (same galaxy or not) that the data relates at all."""
    position = {c.uuid: i for i, c in enumerate(clusters)}
    pairs: dict[tuple[int, int], Pair] = {}

    def pair(i: int, j: int) -> Pair:
        key = (i, j) if i < j else (j, i)
        found = pairs.get(key)
        if found is None:
            found = pairs[key] = Pair(*key)
        return found

    memo: dict[str, str] = {}

    def norm(name: str) -> str:
        key = memo.get(name)
        if key is None:
            key = memo[name] = normalise(name)
        return key

    primary = [c.name for c in clusters]
    own_ids = [own_attack_ids(c) for c in clusters]
    own = tuple(frozenset(k for k in (norm(c.value), norm(primary[i]), norm(_360_SUFFIX.sub("", c.value)),
                                      *map(norm, own_ids[i])) if k)
                for i, c in enumerate(clusters))
    listed_keys = tuple(tuple(norm(s) for s in c.synonyms) for c in clusters)
    owners: dict[str, list[int]] = defaultdict(list)
    exact: list[frozenset[str]] = []
    for i, cluster in enumerate(clusters):
        for key in own[i]:
            owners[key].append(i)
        exact.append(frozenset({cluster.value.casefold(), primary[i].casefold(),
                                *(a.casefold() for a in own_ids[i])}))

    by_attack_id: dict[str, list[int]] = defaultdict(list)
    for i, cluster in enumerate(clusters):
        ids = attack_ids(cluster)
        if len(ids) == 1:       # a cluster stating two ids is an umbrella (Lazarus Group: G0032, G0082)
            by_attack_id[ids[0]].append(i)
    for members in by_attack_id.values():
        for i, j in _pairs_of(members):
            pair(i, j).add("attack-id", ATTACK_ID)
    for members in owners.values():
        for i, j in _pairs_of(members):
            pair(i, j).add("same-name", SAME_NAME)
    # A name two clusters of one galaxy list (Andariel: Lazarus Group and Silent Chollima in
    # threat-actor) is contested there: listing it says nothing about which of them it is.
    listers: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, cluster in enumerate(clusters):
        for key in set(listed_keys[i]) - own[i]:
            if key:
                listers[(cluster.galaxy, key)].append(i)
    for i, cluster in enumerate(clusters):
        mine = own[i]
        for synonym, key in zip(cluster.synonyms, listed_keys[i], strict=True):
            if key in mine:
                continue
            rivals = listers[(cluster.galaxy, key)]
            for j in owners.get(key, ()):
                if j == i or any(k != i and k != j for k in rivals):
                    continue
                weight = LISTED if synonym.casefold() in exact[j] else LISTED_LOOSELY
                found = pair(i, j)
                if weight > found.listed.get(i, 0):
                    found.score += weight - found.listed.get(i, 0)
                    found.listed[i] = weight
                    found.kinds.add("listed")
    links: set[tuple[int, int]] = set()
    loose: set[tuple[int, int]] = set()
    for i, cluster in enumerate(clusters):
        for rel in cluster.related:
            target = position.get(rel.dest_uuid)
            if target is None or target == i:
                continue
            if rel.type in SAME_RELATIONS:
                links.add((i, target))
            elif rel.type in MUTUAL_RELATIONS:
                loose.add((i, target))
    links |= {(i, j) for i, j in loose if (j, i) in loose}
    for i, j in links:
        pair(i, j).add("linked", LINKED)
    stripped_owners: dict[str, list[int]] = defaultdict(list)
    for i, name in enumerate(primary):
        key = norm(strip_operation(strip_generic(name)) if _may_strip(name) else name)
        if key:
            stripped_owners[key].append(i)
    for members in stripped_owners.values():
        for i, j in _pairs_of(members):
            found = pair(i, j)
            if "same-name" not in found.kinds:
                found.add("stripped-name", STRIPPED_NAME)

    synonyms = [frozenset(listed_keys[i]) - own[i] - {""} for i in range(len(clusters))]
    for found in pairs.values():
        shared = len(synonyms[found.a] & synonyms[found.b])
        found.score += min(shared, SHARED_NAMES_MAX)
    ordered = tuple(sorted(pairs.values(), key=lambda p: (-p.level, -p.score, p.a, p.b)))
    by_position: dict[int, list[Pair]] = defaultdict(list)
    for found in ordered:
        by_position[found.a].append(found)
        by_position[found.b].append(found)
    names = tuple(own[i] | synonyms[i] for i in range(len(clusters)))
    return Evidence(ordered, pairs, {i: tuple(ps) for i, ps in by_position.items()}, own, names)


def own_attack_ids(cluster: Cluster) -> tuple[str, ...]:
    """The ATT&CK ids a cluster *is* (its id fields, its value's suffix), not the ones it lists.

    They count as its names: threat-actor APT41 listing "G0044" lists ATT&CK's Winnti Group.
    """
    ids = [v.upper() for key in ("external_id", "group_attack_id") for v in cluster.meta.get(key, ())]
    suffix = _ID_SUFFIX.search(cluster.value)
    if suffix:
        ids.append(suffix.group(1))
    return tuple(dict.fromkeys(i for i in ids if ATTACK_ID_FORMAT.match(i)))


def _may_strip(name: str) -> bool:
    """Cheap test before the stripping functions: only names of two words or more change."""
    return " " in name.strip()


def _pairs_of(members: Sequence[int]) -> Iterable[tuple[int, int]]:
    for x, i in enumerate(members):
        for j in members[x + 1:]:
            if i != j:
                yield i, j
