"""Ransomware operations among the identities: the ransomware galaxy's clusters joined to the actors.

MISP files ransomware operations (LockBit, Akira, play) in its ``ransomware`` galaxy, a galaxy of
category *tool* that also lists malware families whose names an actor galaxy gives to someone
else (Turla is also "Krypton", Gamaredon "Armageddon"; ATT&CK's Chimera is a Chinese actor). So
the actor identities are built from the actor galaxies alone (``identity.build_identities``, which
this never changes), and each ransomware cluster then joins them here only where the galaxies say
so *and* the actor galaxies describe that actor as being in the ransomware or extortion business
(a description saying ransom, extortion, leak site or RaaS, or a name saying ransom):

* **the same** (one identity): the actor's own name is the operation's (ATT&CK's "Akira - G1024"
  and the ransomware galaxy's "Akira"), one lists the other's own name (Storm-1567 lists Akira),
  or a "same" link. The operation with the strongest statement is the identity's ransomware
  cluster; another one the same actor runs under a second name is its duplicate (Pink
  Sandstorm's personas). Two actors claiming one operation equally: it joins neither.
* **runs it** (two identities; the operation's answer also tags its operators, as ``reached``
  does): a ``uses``/``used-by`` link (threat-actor's BITWISE SPIDER uses LockBit), or an actor
  name that is the operation's name plus generic or "ransomware" words (Tidal's "Cuba Ransomware
  Actors", ATT&CK's "Medusa Group"). A ransomware-as-a-service brand is not one crew: an actor
  the galaxies only describe as using a brand stays apart from it.

Within the ransomware galaxy, clusters whose own names are equal after normalisation are one
operation filed twice ("Mount Locker" and "mountlocker"), and so are "X" and "X Ransomware" when
they also share a leak site or a reference ("play" and "PLAY Ransomware"): duplicates, each
tagged. Clusters the galaxy only links ("similar": Lockbit3 and LockBit) stay apart. Pure and
deterministic.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Iterable, Sequence

from .evidence import SAME_RELATIONS
from .galaxy import RANSOMWARE
from .identity import Identities
from .models import Actor, Cluster
from .names import normalise, strip_generic, strip_ransomware

OPERATES_RELATIONS = frozenset({"uses", "used-by"})
# An actor galaxy saying the actor is in the business: these words, or a name with "ransom" in it.
_BUSINESS = re.compile(r"ransom|extort|\bleak[- ]sites?\b|\bdata[- ]leak|\bRaaS\b|\bDLS\b", re.IGNORECASE)
_AFFILIATES = re.compile(r"\s*(?:&|and)?\s*affiliates$", re.IGNORECASE)
# The last words ``_operator_form`` may drop: a name ending otherwise is left alone, without the work.
_OPERATOR_LAST = re.compile(r"\b(?:ransomware|affiliates|group|team|gang|crew|actors?|operators|hackers|apt)\W*$",
                            re.IGNORECASE)
_OWN, _LISTED, _LINKED = 3, 2, 1       # how an actor and an operation are said to be one, strongest first
_SAID = {_OWN: "the same own name", _LISTED: "one lists the other's name", _LINKED: "a \"same\" link"}


@dataclass(frozen=True, slots=True)
class Statement:
    """What was decided about one ransomware operation and one actor identity, and on what evidence.

    ``relation``: "same" (one identity), "runs" (the actor operates it), "apart" (names or links
    relate them but the actor galaxies do not describe a ransomware business), "contested" (two
    actors claim the operation equally: it joins neither).
    """

    operation: str
    actor: str
    relation: str
    evidence: str
    because: str = ""


@dataclass(frozen=True, slots=True)
class Joined:
    identities: Identities
    statements: tuple[Statement, ...]


@dataclass(slots=True)
class _Operation:
    """The ransomware galaxy's clusters for one operation: the primary first, then its duplicates."""

    clusters: list[Cluster]
    own: set[str] = field(default_factory=set)       # normalised own names, with and without "ransomware"
    listed: set[str] = field(default_factory=set)    # normalised synonyms
    joined: int | None = None                        # the actor identity it joined
    strength: tuple[int, int] = (0, 0)               # how the galaxies say it is that actor, and how often
    operators: list[int] = field(default_factory=list)

    @property
    def value(self) -> str:
        return self.clusters[0].value



def join(identities: Identities, clusters: Iterable[Cluster], site: Sequence[Cluster] = (),
         galaxy_order: Sequence[str] = ()) -> Joined:
    """``identities`` with the ransomware clusters joined or added, and ``site`` clusters anchored to them.

    ``site``: site-override clusters whose "same-as" link names a ransomware cluster.
    """
    every = [c for c in clusters if c.galaxy == RANSOMWARE]
    operations = _operations([c for c in every if not c.deprecated])
    if not operations and not site:
        return Joined(identities, ())
    names = _ActorNames(identities.actors)
    statements: list[Statement] = []
    for op in operations:
        statements.extend(_decide_same(op, names))
    exact = {normalise(c.value) for op in operations for c in op.clusters}
    for op in operations:
        statements.extend(_decide_operators(op, names, exact))
    return Joined(_rebuild(identities, operations, every, site, galaxy_order), tuple(statements))


def _operations(live: Sequence[Cluster]) -> list[_Operation]:
    """One operation per own name: the galaxy's clusters with equal own names are duplicates.

    "LockBit" and "lockbit" are one name filed twice. "Kraken" and "Kraken Ransomware" are one
    only when they also share a link, a reference or a "same" link (play and PLAY Ransomware list
    the same leak site): the galaxy has old families and newer groups of one name (Anubis).
    """
    key_of = {c.uuid: normalise(c.value) for c in live}
    by_name: dict[str, list[Cluster]] = {}
    for cluster in live:
        by_name.setdefault(key_of[cluster.uuid], []).append(cluster)
    groups = list(by_name.values())
    position = {key: i for i, key in enumerate(by_name)}
    parent = list(range(len(groups)))
    for i, (key, members) in enumerate(by_name.items()):
        bare = normalise(_bare(members[0].value)) if key.endswith("ransomware") else key
        j = position.get(bare)
        if j is not None and j != i and _shared(members, groups[j]):
            parent[i] = j
    merged: dict[int, list[Cluster]] = {}
    for i, members in enumerate(groups):
        root = i
        while parent[root] != root:
            root = parent[root]
        merged.setdefault(root, []).extend(members)
    out = []
    for root, members in merged.items():
        key = key_of[groups[root][0].uuid]
        # The primary: the cluster whose own name is the shorter one, then the one saying most.
        ordered = sorted(members, key=lambda c: (key_of[c.uuid] != key,
                                                 -(len(c.synonyms) + len(c.refs) + bool(c.description))))
        op = _Operation(ordered)
        for cluster in ordered:
            own = key_of[cluster.uuid]
            op.own |= {k for k in (own, normalise(_bare(cluster.value)) if own.endswith("ransomware") else own) if k}
            op.listed |= {k for k in map(normalise, cluster.synonyms) if k}
        op.listed -= op.own
        out.append(op)
    return out


def _bare(value: str) -> str:
    return strip_ransomware(value)


def _shared(one: Sequence[Cluster], other: Sequence[Cluster]) -> bool:
    """Two sets of clusters share a leak-site link or a reference, or one links to the other as the same."""
    def urls(clusters: Sequence[Cluster]) -> set[str]:
        return {u.strip().rstrip("/").casefold() for c in clusters for u in (*c.meta.get("links", ()), *c.refs)}

    uuids = {c.uuid for c in other}
    return bool(urls(one) & urls(other)) or any(
        r.dest_uuid in uuids and r.type in SAME_RELATIONS for c in one for r in c.related)


class _ActorNames:
    """The actor identities' names and links, looked up by normalised name and cluster uuid."""

    def __init__(self, actors: Sequence[Actor]) -> None:
        self.actors = actors
        self.own: dict[str, set[int]] = defaultdict(set)
        self.listed: dict[str, set[int]] = defaultdict(set)
        self.operator_names: dict[str, dict[int, str]] = defaultdict(dict)     # bare name -> actor -> name
        self.of_uuid: dict[str, int] = {}
        self.links_to: dict[str, list[tuple[str, int]]] = defaultdict(list)    # dest uuid -> (type, actor)
        self._described: dict[int, str] = {}
        memo: dict[str, str] = {}

        def norm(name: str) -> str:
            key = memo.get(name)
            if key is None:
                key = memo[name] = normalise(name)
            return key

        for actor in actors:
            for cluster in actor.clusters:
                self.of_uuid[cluster.uuid] = actor.id
                for rel in cluster.related:
                    self.links_to[rel.dest_uuid].append((rel.type, actor.id))
                own = {norm(cluster.value), norm(cluster.name)} - {""}
                for key in own:
                    self.own[key].add(actor.id)
                for name in (cluster.value, cluster.name, *cluster.synonyms):
                    key = norm(name)
                    if key and key not in own:
                        self.listed[key].add(actor.id)
                    if " " in name and _OPERATOR_LAST.search(name):
                        bare = normalise(_operator_form(name))
                        if bare and bare != key:
                            self.operator_names[bare].setdefault(actor.id, name)

    def business(self, actor_id: int) -> str:
        """Why the actor galaxies count this actor in the ransomware or extortion business; "" if they do not."""
        said = self._described.get(actor_id)
        if said is None:
            said = ""
            for cluster in self.actors[actor_id].clusters:
                found = _BUSINESS.search(cluster.description)
                named = next((n for n in (cluster.value, *cluster.synonyms) if "ransom" in n.casefold()), None)
                if found or named:
                    said = (f"{cluster.galaxy} {cluster.value!r} says {found.group()!r}" if found
                            else f"{cluster.galaxy} names it {named!r}")
                    break
            self._described[actor_id] = said
        return said


def _operator_form(name: str) -> str:
    """An actor name without generic, "affiliates" and "ransomware" words: "Cuba Ransomware Actors" -> "Cuba"."""
    text = name
    while True:
        shorter = strip_ransomware(strip_generic(_AFFILIATES.sub("", text) or text))
        if shorter == text:
            return text
        text = shorter


def _decide_same(op: _Operation, names: _ActorNames) -> list[Statement]:
    """The actor this operation is, if the galaxies say so of exactly one actor in the business."""
    strength: dict[int, list[int]] = defaultdict(lambda: [0, 0])     # actor -> [best kind, how many say it]

    def said(actors: Iterable[int], kind: int) -> None:
        for actor in actors:
            held = strength[actor]
            held[0], held[1] = max(held[0], kind), held[1] + 1

    for key in op.own:
        said(names.own.get(key, ()), _OWN)
        said(names.listed.get(key, ()), _LISTED)
    for key in op.listed:
        said(names.own.get(key, ()), _LISTED)
    for cluster in op.clusters:
        said((names.of_uuid[r.dest_uuid] for r in cluster.related
              if r.type in SAME_RELATIONS and r.dest_uuid in names.of_uuid), _LINKED)
        said((actor for kind, actor in names.links_to.get(cluster.uuid, ()) if kind in SAME_RELATIONS), _LINKED)
    out: list[Statement] = []
    ranked: list[tuple[int, int, int, str]] = []
    for actor, (kind, count) in sorted(strength.items()):
        because = names.business(actor)
        if because:
            ranked.append((kind, count, actor, because))
        else:
            out.append(Statement(op.value, names.actors[actor].name, "apart", _SAID[kind]))
    ranked.sort(key=lambda r: (-r[0], -r[1], r[2]))
    if ranked and (len(ranked) == 1 or ranked[1][:2] < ranked[0][:2]):
        kind, count, op.joined, because = ranked[0]
        op.strength = (kind, count)
        out.append(Statement(op.value, names.actors[op.joined].name, "same", _SAID[kind], because))
    else:
        out += [Statement(op.value, names.actors[a].name, "contested", _SAID[k], b) for k, _, a, b in ranked]
    return out


def _decide_operators(op: _Operation, names: _ActorNames, exact: set[str]) -> list[Statement]:
    """The actors the galaxies say run the operation: a uses link, or a name that is the operation's.

    ``exact``: every operation's own names as written. "Anubis Ransomware Group" runs "anubis", not
    also the older "Anubis Ransomware" that only dropping "Ransomware" makes an "Anubis".
    """
    claims: dict[int, str] = {}
    for cluster in op.clusters:
        for rel in cluster.related:
            if rel.type in OPERATES_RELATIONS and rel.dest_uuid in names.of_uuid:
                claims.setdefault(names.of_uuid[rel.dest_uuid], f"{cluster.value!r} is {rel.type} it")
        for kind, actor in names.links_to.get(cluster.uuid, ()):
            if kind in OPERATES_RELATIONS:
                claims.setdefault(actor, f"it {kind} {cluster.value!r}")
    written = {normalise(c.value) for c in op.clusters}
    for key in sorted((*op.own, *op.listed)):
        if key in exact and key not in written and key not in op.listed:
            continue                                # another operation's own name
        for actor, name in names.operator_names.get(key, {}).items():
            claims.setdefault(actor, f"its name {name!r}")
    out: list[Statement] = []
    for actor, evidence in sorted(claims.items()):
        if actor == op.joined:
            continue
        because = names.business(actor)
        if because:
            op.operators.append(actor)
        out.append(Statement(op.value, names.actors[actor].name, "runs" if because else "apart", evidence, because))
    return out


def _rebuild(identities: Identities, operations: Sequence[_Operation], every: Sequence[Cluster],
             site: Sequence[Cluster], galaxy_order: Sequence[str]) -> Identities:
    rank = {g: i for i, g in enumerate(galaxy_order)}
    actors = list(identities.actors)
    joined: dict[int, list[_Operation]] = defaultdict(list)
    standalone: list[_Operation] = []
    for op in operations:
        (joined[op.joined] if op.joined is not None else standalone).append(op)
    for ops in joined.values():
        ops.sort(key=lambda op: (-op.strength[0], -op.strength[1]))      # stable: the data's order on ties
    actor_of_op: dict[int, int] = {}          # id(op) -> actor id
    for actor_id, ops in joined.items():
        for op in ops:
            actor_of_op[id(op)] = actor_id
    for op in standalone:
        actor_of_op[id(op)] = len(actors)
        actors.append(Actor(id=len(actors), name=op.clusters[0].name, clusters=tuple(op.clusters),
                            duplicates=tuple(op.clusters[1:])))
    anchored: dict[int, list[Cluster]] = defaultdict(list)
    op_of_uuid = {c.uuid: op for op in operations for c in op.clusters}
    for cluster in site:
        anchor = next((op_of_uuid[r.dest_uuid] for r in cluster.related if r.dest_uuid in op_of_uuid), None)
        if anchor is not None:
            anchored[actor_of_op[id(anchor)]].append(cluster)
    operators: dict[int, list[Cluster]] = defaultdict(list)
    operates: dict[int, list[Cluster]] = defaultdict(list)
    for op in operations:
        holder = actor_of_op[id(op)]
        for actor_id in op.operators:
            operators[holder].extend(c for c in actors[actor_id].clusters if c not in operators[holder])
            if op.clusters[0] not in operates[actor_id]:
                operates[actor_id].append(op.clusters[0])
    for actor_id in set(joined) | set(anchored) | set(operators) | set(operates):
        actor = actors[actor_id]
        ops = joined.get(actor_id, [])
        added = [c for op in ops for c in op.clusters]
        clusters = sorted((*actor.clusters, *added, *anchored.get(actor_id, ())),
                          key=lambda c: rank.get(c.galaxy, len(rank)))        # stable: primaries stay first
        repeated = tuple(c for c in added if c is not ops[0].clusters[0]) if ops else ()
        actors[actor_id] = replace(actor, clusters=tuple(clusters), duplicates=(*actor.duplicates, *repeated),
                                   operators=tuple(operators.get(actor_id, ())),
                                   operates=tuple(operates.get(actor_id, ())))
    retired = list(identities.retired)
    for cluster in every:
        if cluster.deprecated:
            target = next((op_of_uuid[r.dest_uuid] for r in cluster.related
                           if r.dest_uuid in op_of_uuid and (r.type == "revoked-by" or r.type in SAME_RELATIONS)), None)
            if target is not None:
                retired.append((cluster, actor_of_op[id(target)]))
    return Identities(actors=tuple(actors), retired=tuple(retired), refused_merges=identities.refused_merges)
