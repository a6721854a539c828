"""AliasIndex: every actor name, indexed once, resolved in tiers with ambiguity said out loud.

Tiers, best first (``models.Tier``): a cluster's own value, a listed synonym, the same
after ``names.normalise``, the same after dropping qualifiers. The best tier that
matches decides. A name the galaxies disagree on is ambiguous: when another actor
holds the name in a galaxy where the best-tier actor has no cluster (MITRE's own
"Andariel" vs threat-actor's "Andariel" synonym of Lazarus Group and of Silent
Chollima), it is listed too. Prefixes never match; near misses only come back as
suggestions, found through a deletion index built on the first miss.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Iterator, Mapping, Sequence

from .identity import Identities
from .models import Actor, Candidate, Resolution, Status, Tier
from .names import clean, digits, normalise, qualifier_parts, strip_generic

SUGGESTION_MIN_SCORE = 0.75
SUGGESTION_LIMIT = 5
_SUGGESTION_MIN_LENGTH = 4


@dataclass(frozen=True, slots=True)
class _Hit:
    actor: int
    tier: Tier          # VALUE or SYNONYM: what the name is in its cluster
    galaxy: str
    name: str           # as written in the data


class AliasIndex:
    """Immutable once built; safe to share between threads."""

    def __init__(self, identities: Identities, *, ignore: frozenset[str] = frozenset(),
                 ignore_for: frozenset[tuple[str, int]] = frozenset(), pins: Mapping[str, int] | None = None) -> None:
        """``ignore``: normalised names that match nothing; ``ignore_for``: (name, actor id) pairs that
        do not match that actor; ``pins``: normalised name -> the actor it means at this site."""
        self.actors: tuple[Actor, ...] = identities.actors
        self._pins = dict(pins or {})
        by_key: dict[str, list[_Hit]] = defaultdict(list)
        by_stripped: dict[str, list[_Hit]] = defaultdict(list)
        named = [(a.id, c, False) for a in self.actors for c in a.clusters]
        named += [(actor_id, c, True) for c, actor_id in identities.retired]
        for actor_id, cluster, retired in named:
            own = {cluster.value, cluster.name}
            for name in (*own, *cluster.synonyms):
                key = normalise(name)
                if key in ignore or (key, actor_id) in ignore_for:
                    continue
                tier = Tier.VALUE if name in own and not retired else Tier.SYNONYM
                hit = _Hit(actor_id, tier, cluster.galaxy, name)
                if key and hit not in by_key[key]:
                    by_key[key].append(hit)
                stripped = normalise(strip_generic(name))
                if stripped and stripped != key and hit not in by_stripped[stripped]:
                    by_stripped[stripped].append(hit)
        self._by_key = {k: tuple(v) for k, v in by_key.items()}
        self._longest_key = max(map(len, self._by_key), default=0)
        self._by_stripped = {k: tuple(v) for k, v in by_stripped.items()}
        self._deletions: dict[str, tuple[str, ...]] | None = None
        self._deletions_lock = threading.Lock()
        self.resolve = lru_cache(maxsize=4096)(self._resolve)

    @property
    def name_count(self) -> int:
        return len(self._by_key)

    def keys(self) -> Iterable[str]:
        return self._by_key.keys()

    def names(self) -> Iterator[str]:
        """Every indexed name as the data writes it (values, primary names, synonyms), once."""
        seen: set[str] = set()
        for hits in self._by_key.values():
            for hit in hits:
                if hit.name not in seen:
                    seen.add(hit.name)
                    yield hit.name

    # --- resolution --------------------------------------------------------

    def _resolve(self, query: str) -> Resolution:
        text = clean(query)
        key = normalise(text)
        if not key:
            return Resolution(query, Status.UNKNOWN, reason="the name has no letters or digits")
        pinned = self._pins.get(key)
        if pinned is not None:
            candidate = Candidate(self.actors[pinned], Tier.SYNONYM, text, 1.0)
            return Resolution(query, Status.RESOLVED, (candidate,), reason="pinned by the site overrides", pinned=True)
        found = self._exact(text)
        if found is not None:
            return found
        found = self._qualified(text)
        if found is not None:
            return found
        suggestions = self.suggest(text)
        if suggestions:
            return Resolution(query, Status.SUGGESTED, suggestions,
                              reason="no actor has this name; these names are close")
        return Resolution(query, Status.UNKNOWN, reason="no actor in the galaxies has this name")

    def _exact(self, text: str, query: str | None = None) -> Resolution | None:
        """Tiers 1-3: the normalised key, each hit ranked by how exactly it matched."""
        hits = self._by_key.get(normalise(text))
        if not hits:
            return None
        folded = text.casefold()
        ranked = [(h.tier if h.name.casefold() == folded else Tier.NORMALISED, h) for h in hits]
        return self._decide(query or text, ranked)

    def _decide(self, query: str, ranked: Sequence[tuple[Tier, _Hit]]) -> Resolution:
        best = min(t for t, _ in ranked)
        winners: dict[int, tuple[Tier, _Hit]] = {}
        for tier, hit in ranked:
            if tier == best and hit.actor not in winners:
                winners[hit.actor] = (tier, hit)
        covered = {g for a in winners for g in self.actors[a].galaxies}
        rivals: dict[int, tuple[Tier, _Hit]] = {}
        for tier, hit in sorted(ranked, key=lambda th: th[0]):
            if hit.actor not in winners and hit.actor not in rivals and hit.galaxy not in covered:
                rivals[hit.actor] = (tier, hit)
        candidates = _collapse_reached(tuple(
            Candidate(self.actors[a], tier, hit.name, 1.0) for a, (tier, hit) in (*winners.items(), *rivals.items())
        ))
        if len(candidates) == 1:
            return Resolution(query, Status.RESOLVED, candidates, reason=f"{best.label} match")
        if rivals and len(winners) == 1:
            reason = (f"the galaxies disagree: {candidates[0].actor.name} holds this name as "
                      f"{best.label}, other galaxies give it to {', '.join(c.actor.name for c in candidates[1:])}")
        else:
            reason = f"{len(candidates)} actors hold this name ({best.label} match)"
        return Resolution(query, Status.AMBIGUOUS, candidates, reason=reason)

    def _qualified(self, text: str) -> Resolution | None:
        """Tier 4: "the Kimsuky group", "Turla (Russia)", "Cozy Bear / APT29".

        Every part that names an actor must name the same one; parts naming nothing
        ("Russia") are qualifiers. Generic words are also stripped from the data's names.
        """
        parts = qualifier_parts(text)
        answers: list[Resolution] = []
        for part in parts:
            found = self._exact(part) if part != text else None
            if found is None:
                hits = self._by_stripped.get(normalise(part))
                if hits:
                    found = self._decide(part, [(Tier.QUALIFIED, h) for h in hits])
            if found is not None:
                answers.append(found)
        if not answers:
            return None
        actors: dict[int, Candidate] = {}
        for answer in answers:
            for cand in answer.candidates:
                actors.setdefault(cand.actor.id, Candidate(cand.actor, Tier.QUALIFIED, cand.matched, 1.0))
        candidates = tuple(actors.values())
        named = ", ".join(repr(a.query) for a in answers)
        if len(candidates) == 1:
            return Resolution(text, Status.RESOLVED, candidates, reason=f"qualified match on {named}")
        if len(answers) > 1 and all(a.status is Status.RESOLVED for a in answers):
            reason = f"the parts {named} name different actors"
        else:
            reason = f"{len(candidates)} actors hold {named}"
        return Resolution(text, Status.AMBIGUOUS, candidates, reason=reason)

    # --- suggestions -------------------------------------------------------

    def suggest(self, text: str, limit: int = SUGGESTION_LIMIT,
                min_score: float = SUGGESTION_MIN_SCORE) -> tuple[Candidate, ...]:
        """Near misses ("ScarKruft" -> ScarCruft): edit distance on normalised keys, digits kept."""
        key = normalise(strip_generic(text))
        # Beyond the longest name plus two edits nothing can be near: and the deletion variants of a
        # long key (NFKC turns one character into up to 18) would cost seconds and gigabytes.
        if not _SUGGESTION_MIN_LENGTH <= len(key) <= self._longest_key + 2:
            return ()
        deletions = self._deletion_index()
        near: set[str] = set()
        for variant in _deletes(key, 2):
            near.update(deletions.get(variant, ()))
        scored: list[tuple[float, str]] = []
        for other in near:
            if digits(other) != digits(key):
                continue
            score = 1.0 - _distance(key, other) / max(len(key), len(other))
            if score >= min_score:
                scored.append((score, other))
        scored.sort(key=lambda sk: (-sk[0], sk[1]))
        out: dict[int, Candidate] = {}
        for score, other in scored:
            for hit in self._by_key[other]:
                if hit.actor not in out:
                    out[hit.actor] = Candidate(self.actors[hit.actor], Tier.SUGGESTION, hit.name, round(score, 3))
        return tuple(out.values())[:limit]

    def _deletion_index(self) -> dict[str, tuple[str, ...]]:
        if self._deletions is None:
            with self._deletions_lock:
                if self._deletions is None:
                    index: dict[str, list[str]] = defaultdict(list)
                    for key in self._by_key:
                        if len(key) >= _SUGGESTION_MIN_LENGTH:
                            for variant in _deletes(key, 1):
                                index[variant].append(key)
                    self._deletions = {k: tuple(v) for k, v in index.items()}
        return self._deletions


def _collapse_reached(candidates: tuple[Candidate, ...]) -> tuple[Candidate, ...]:
    """Drop a candidate that only differs from another by reach, keeping the better match.

    When one candidate reaches the other's hub cluster (Microsoft's Forest Blizzard is
    filed under threat-actor APT28), the hub galaxy already says they are one actor:
    keep the better tier, and on a tie the hub's own identity.
    """
    def reaches(a: Candidate, b: Candidate) -> bool:
        return any(c in b.actor.clusters for c in a.actor.reached)

    kept = []
    for cand in candidates:
        beaten = any(
            other is not cand and (reaches(cand, other) or reaches(other, cand))
            and (other.tier < cand.tier or (other.tier == cand.tier and reaches(cand, other)))
            for other in candidates
        )
        if not beaten:
            kept.append(cand)
    return tuple(kept)


def _deletes(key: str, depth: int) -> set[str]:
    """The key and every string made by deleting up to ``depth`` characters."""
    out = {key}
    frontier = {key}
    for _ in range(depth):
        frontier = {w[:i] + w[i + 1:] for w in frontier for i in range(len(w))}
        out |= frontier
    return out


def _distance(a: str, b: str) -> int:
    """Optimal-string-alignment distance: edits plus adjacent transpositions."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]
