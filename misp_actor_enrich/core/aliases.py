"""AliasIndex: every actor name, indexed once, resolved in tiers with ambiguity said out loud.

Tiers, best first (``models.Tier``): a cluster's own value, a listed synonym, the same
after ``names.normalise``, the same after dropping qualifiers ("the ... group",
"Operation ...", "(Russia)"). Within the best tier that matches, a cluster's own value
or name beats another cluster's synonym, and an actor that more galaxies give the name
to beats one fewer galaxies give it to. Names held by clusters of one identity never
compete: a name is ambiguous only when two actors claim it equally ("Grizzly Steppe",
a synonym of APT28 and of APT29 in threat-actor alone). Prefixes never match; near
misses only come back as suggestions, found through a deletion index built on the
first miss. Site overrides hold on every tier: an ignored name matches nothing (or not
its actor), a pinned name means its actor, in qualified forms and suggestions too.

The ransomware galaxy answers the names no actor galaxy gives to another actor: a name
an actor galaxy gives to an actor beats the ransomware galaxy's claim on it, whatever the
tier ("Krypton" is Turla's; the 2017 ransomware of that name is not an actor). Written
as a ransomware name ("Krypton ransomware", "LockBit 3.0", "LockBit Black"), the name is
looked for among ransomware operations only (``names.strip_ransomware``, ``version_forms``,
``strip_edition``), after every other form of it failed.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Iterator, Mapping, Sequence

from .evidence import own_attack_ids
from .identity import Identities
from .galaxy import RANSOMWARE
from .models import Actor, Candidate, Resolution, Status, Tier
from .names import (
    clean,
    digits,
    generic_steps,
    normalise,
    qualifier_pieces,
    strip_edition,
    strip_generic,
    strip_operation,
    strip_ransomware,
    version_forms,
)

SUGGESTION_MIN_SCORE = 0.75
SUGGESTION_LIMIT = 5
_SUGGESTION_MIN_LENGTH = 4


_OWN, _LISTED, _RETIRED = 0, 1, 2     # what a name is to the cluster holding it, strongest first


@dataclass(frozen=True, slots=True)
class _Hit:
    actor: int
    kind: int           # _OWN (its value or name), _LISTED (a synonym) or _RETIRED (a retired cluster's name)
    galaxy: str
    name: str           # as written in the data

    @property
    def tier(self) -> Tier:
        return Tier.VALUE if self.kind == _OWN else Tier.SYNONYM

    @property
    def rank(self) -> int:
        """1 for the ransomware galaxy's claims: an actor galaxy's claim on a name beats them."""
        return int(self.galaxy == RANSOMWARE)


# How strongly an actor claims a name: (ransomware galaxy only, tier, kind, minus the number of
# galaxies agreeing).
_Strength = tuple[int, Tier, int, int]


class AliasIndex:
    """Immutable once built; safe to share between threads."""

    def __init__(self, identities: Identities, *, ignore: frozenset[str] = frozenset(),
                 ignore_for: frozenset[tuple[str, int]] = frozenset(), pins: Mapping[str, int] | None = None) -> None:
        """``ignore``: normalised names that match nothing; ``ignore_for``: (name, actor id) pairs that
        do not match that actor; ``pins``: normalised name -> the actor it means at this site."""
        self.actors: tuple[Actor, ...] = identities.actors
        self._pins = dict(pins or {})
        self._ignore = ignore
        self._ignored_for: dict[str, frozenset[int]] = {}
        for name, actor_id in ignore_for:
            self._ignored_for[name] = self._ignored_for.get(name, frozenset()) | {actor_id}
        by_key: dict[str, list[_Hit]] = defaultdict(list)
        by_stripped: dict[str, list[_Hit]] = defaultdict(list)
        named = [(a.id, c, False) for a in self.actors for c in a.clusters]
        named += [(actor_id, c, True) for c, actor_id in identities.retired]
        for actor_id, cluster, retired in named:
            # An ATT&CK id is the cluster's own name too: "G0013" is ATT&CK's APT30, whoever lists it.
            own = {cluster.value, cluster.name, *own_attack_ids(cluster)}
            for name in (*own, *cluster.synonyms):
                kind = _RETIRED if retired else _OWN if name in own else _LISTED
                hit = _Hit(actor_id, kind, cluster.galaxy, name)
                key = normalise(name)
                if key and not self._blocked(key, actor_id) and hit not in by_key[key]:
                    by_key[key].append(hit)
                forms = _stripped_forms(name)
                if cluster.galaxy == RANSOMWARE and key.endswith("ransomware"):   # "Ryuk ransomware" is "Ryuk" too
                    forms.add(normalise(strip_ransomware(name)))
                for form in forms:
                    if form != key and not self._blocked(form, actor_id) and hit not in by_stripped[form]:
                        by_stripped[form].append(hit)
        self._by_key = {k: tuple(v) for k, v in by_key.items()}
        self._longest_key = max(map(len, self._by_key), default=0)
        self._by_stripped = {k: tuple(v) for k, v in by_stripped.items()}
        self._operations = frozenset(a.id for a in self.actors if a.ransomware)
        self._deletions: dict[str, tuple[str, ...]] | None = None
        self._deletions_lock = threading.Lock()
        self.resolve = lru_cache(maxsize=4096)(self._resolve)

    def _blocked(self, key: str, actor_id: int) -> bool:
        return key in self._ignore or actor_id in self._ignored_for.get(key, ())

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
        if key in self._ignore and key not in self._pins:
            return Resolution(query, Status.UNKNOWN, reason="the site overrides ignore this name")
        found = self._exact(text, query)
        if found is not None:
            return found
        found = self._qualified(text, query)
        if found is not None:
            return found
        suggestions = self.suggest(text)
        if suggestions:
            return Resolution(query, Status.SUGGESTED, suggestions,
                              reason="no actor has this name; these names are close")
        return Resolution(query, Status.UNKNOWN, reason="no actor in the galaxies has this name")

    def _pinned(self, key: str, text: str, query: str) -> Resolution | None:
        pinned = self._pins.get(key)
        if pinned is None:
            return None
        candidate = Candidate(self.actors[pinned], Tier.SYNONYM, text, 1.0)
        return Resolution(query, Status.RESOLVED, (candidate,), reason="pinned by the site overrides", pinned=True)

    def _exact(self, text: str, query: str, *, ransomware: bool = False) -> Resolution | None:
        """Tiers 1-3: the normalised key, each hit ranked by how exactly it matched.

        ``ransomware``: only ransomware operations may answer (the name was written as one).
        """
        key = normalise(text)
        pinned = self._pinned(key, text, query)
        if pinned is not None:
            return pinned
        hits = self._by_key.get(key)
        if hits and ransomware:
            hits = tuple(h for h in hits if h.actor in self._operations)
        if not hits:
            return None
        folded = text.casefold()
        return self._decide(query, [(h.tier if h.name.casefold() == folded else Tier.NORMALISED, h) for h in hits])

    def _decide(self, query: str, ranked: Sequence[tuple[Tier, _Hit]]) -> Resolution:
        """The actors that claim the name most strongly; more than one is ambiguous."""
        winners, (rank, tier, kind, galaxies) = _strongest(ranked)
        candidates = _collapse_reached(tuple(Candidate(self.actors[a], tier, name, 1.0) for a, name in winners))
        label = tier.label + ("" if tier is not Tier.NORMALISED else " value" if kind == _OWN else " synonym")
        note = "" if rank else _outranked(ranked, {a for a, _ in winners})
        said = f"; {note}" if note else ""
        if len(candidates) == 1:
            return Resolution(query, Status.RESOLVED, candidates, reason=f"{label} match{said}", note=note)
        where = f" in {-galaxies} galaxies each" if galaxies < -1 else ""
        return Resolution(query, Status.AMBIGUOUS, candidates,
                          reason=f"{len(candidates)} actors hold this name equally ({label} match{where}){said}",
                          note=note)

    def _qualified(self, text: str, query: str) -> Resolution | None:
        """Tier 4: "the Kimsuky group", "Turla (Russia)", "Cozy Bear / APT29", "Operation Pawn Storm".

        Every part that names an actor must name the same one; parts naming nothing
        ("Russia") are qualifiers, and so are ignored names. Generic words and "Operation"
        are also stripped from the data's names.
        """
        answers: list[Resolution] = []
        for part, piece in _parts(text):
            key = normalise(part)
            if key in self._ignore and key not in self._pins:
                continue
            found = self._exact(part, part) if part != text else None
            if (found is None or self._only_ransomware(key)) and piece != part:
                # A name written whole before what dropping generic words leaves: "the Royal APT group" is
                # APT15's "Royal APT", not the ransomware galaxy's "Royal"; "the Cuba Ransomware Actors
                # group" is Tidal's "Cuba Ransomware Actors", not Cuba ransomware.
                found = self._less_stripped(piece) or found
            # "Royal ransomware" is the operation, before Tidal's "Royal Ransomware Actors" without "Actors".
            directed = strip_ransomware(part) != part
            if found is None and directed:
                found = self._as_ransomware(part)
            if found is None:
                hits = self._by_stripped.get(key)
                if hits:
                    found = self._decide(part, [(Tier.QUALIFIED, h) for h in hits])
            if found is None and not directed:
                found = self._as_ransomware(part)
            if found is not None:
                answers.append(found)
        if not answers:
            return None
        actors: dict[int, Candidate] = {}
        for answer in answers:
            for cand in answer.candidates:
                actors.setdefault(cand.actor.id, Candidate(cand.actor, Tier.QUALIFIED, cand.matched, 1.0))
        candidates = _collapse_reached(tuple(actors.values()))
        named = ", ".join(repr(a.query) for a in answers)
        if len(candidates) == 1:
            pinned = any(a.pinned for a in answers)
            return Resolution(query, Status.RESOLVED, candidates,
                              reason=f"qualified match on {named}" + (", pinned by the site overrides" if pinned else ""),
                              pinned=pinned)
        if len(answers) > 1 and all(a.status is Status.RESOLVED for a in answers):
            reason = f"the parts {named} name different actors"
        else:
            reason = f"{len(candidates)} actors hold {named}"
        return Resolution(query, Status.AMBIGUOUS, candidates, reason=reason)

    def holders(self, name: str) -> tuple[Candidate, ...]:
        """Every actor that holds ``name``, however weakly (one galaxy's synonym), best claim first.

        ``resolve`` says what a name means alone; this says who could be meant at all, so
        that names a text gives side by side can narrow each other (``apposition``). Like
        ``resolve``, names without generic words ("Dragonfly 2.0" inside another name) count
        only when no name is exactly this one. Overrides hold: an ignored name has no
        holder, a pinned one only its actor.
        """
        text = clean(name)
        key = normalise(text)
        if not key or (key in self._ignore and key not in self._pins):
            return ()
        pinned = self._pins.get(key)
        if pinned is not None:
            return (Candidate(self.actors[pinned], Tier.SYNONYM, text, 1.0),)
        folded = text.casefold()
        best: dict[int, Candidate] = {}
        ranked = [(h.tier if h.name.casefold() == folded else Tier.NORMALISED, h) for h in self._by_key.get(key, ())]
        if not ranked:
            ranked = [(Tier.QUALIFIED, h) for h in self._by_stripped.get(key, ())]
        for tier, hit in ranked:
            held = best.get(hit.actor)
            if held is None or tier < held.tier:
                best[hit.actor] = Candidate(self.actors[hit.actor], tier, hit.name, 1.0)
        return tuple(sorted(best.values(), key=lambda c: c.tier))

    def _only_ransomware(self, key: str) -> bool:
        """Only the ransomware galaxy gives this name (in any spelling)."""
        return all(h.rank for h in self._by_key.get(key, ()))

    def _less_stripped(self, piece: str) -> Resolution | None:
        """The longest form of ``piece`` with generic words dropped that an actor galaxy gives as written."""
        chain = [clean(piece), *generic_steps(piece)]
        forms: list[str] = []
        for longer, shorter in zip(chain, chain[1:], strict=False):
            forms.append(longer)
            words, kept = longer.split(), len(shorter.split())
            if words[:kept] == shorter.split():           # "Royal APT group" lost "APT group": "Royal APT" too
                forms += [" ".join(words[:n]) for n in range(len(words) - 1, kept, -1)]
        for form in forms:
            key = normalise(form)
            if key in self._by_key and not self._only_ransomware(key) and key not in self._ignore:
                return self._exact(form, form)
        return None

    def _as_ransomware(self, part: str) -> Resolution | None:
        """A ransomware name as people write it: "X ransomware", "X 3.0", "X Black" (see the module doc)."""
        bare = strip_ransomware(part)
        directed = bare != part
        forms: list[tuple[str, bool]] = [(bare, directed)] if directed else []
        forms += [(form, directed) for form in version_forms(bare)]
        edition = strip_edition(bare)
        if edition != bare:
            forms.append((edition, True))         # an edition is a ransomware product's: LockBit Black
        for form, only_ransomware in forms:
            found = self._exact(form, form, ransomware=only_ransomware)
            if found is not None:
                return found
        return None

    # --- suggestions -------------------------------------------------------

    def suggest(self, text: str, limit: int = SUGGESTION_LIMIT,
                min_score: float = SUGGESTION_MIN_SCORE) -> tuple[Candidate, ...]:
        """Near misses ("ScarKruft" -> ScarCruft): edit distance on normalised keys, digits kept."""
        key = normalise(strip_generic(text))
        # Beyond the longest name plus two edits nothing can be near: and the deletion variants of a
        # long key (NFKC turns one character into up to 18) would cost seconds and gigabytes.
        if not _SUGGESTION_MIN_LENGTH <= len(key) <= self._longest_key + 2 or key in self._ignore:
            return ()
        # A name ignored for an actor must not come back to it as a near miss either.
        blocked = self._ignored_for.get(normalise(text), frozenset()) | self._ignored_for.get(key, frozenset())
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
            # A near name suggests what the name itself means: its pin, else its strongest claimants.
            pinned = self._pins.get(other)
            hits = self._by_key.get(other, ())
            if pinned is not None:
                claimants = [(pinned, hits[0].name if hits else other)]
            else:
                claimants = _strongest([(h.tier, h) for h in hits])[0]
            for actor, name in claimants:
                if actor not in out and actor not in blocked:
                    out[actor] = Candidate(self.actors[actor], Tier.SUGGESTION, name, round(score, 3))
        return tuple(out.values())[:limit]

    def _deletion_index(self) -> dict[str, tuple[str, ...]]:
        if self._deletions is None:
            with self._deletions_lock:
                if self._deletions is None:
                    index: dict[str, list[str]] = defaultdict(list)
                    for key in dict.fromkeys((*self._by_key, *self._pins)):
                        if len(key) >= _SUGGESTION_MIN_LENGTH:
                            for variant in _deletes(key, 1):
                                index[variant].append(key)
                    self._deletions = {k: tuple(v) for k, v in index.items()}
        return self._deletions


def _strongest(ranked: Sequence[tuple[Tier, _Hit]]) -> tuple[list[tuple[int, str]], _Strength]:
    """The actors claiming a name most strongly, with the name as their data writes it, and that strength.

    An actor's strength is its best (rank, tier, kind), then how many galaxies give it
    the name at that (rank, tier, kind): more agreeing galaxies claim it more strongly.
    """
    best: dict[int, tuple[int, Tier, int, _Hit]] = {}
    for tier, hit in ranked:
        held = best.get(hit.actor)
        if held is None or (hit.rank, tier, hit.kind) < held[:3]:
            best[hit.actor] = (hit.rank, tier, hit.kind, hit)
    strength: dict[int, _Strength] = {}
    for actor, (rank, tier, kind, _) in best.items():
        galaxies = {h.galaxy for t, h in ranked if h.actor == actor and (h.rank, t, h.kind) == (rank, tier, kind)}
        strength[actor] = (rank, tier, kind, -len(galaxies))
    top = min(strength.values())
    return [(a, best[a][3].name) for a in best if strength[a] == top], top


def _outranked(ranked: Sequence[tuple[Tier, _Hit]], winners: set[int]) -> str:
    """Says so when the ransomware galaxy also has the name, for an operation that lost it to an actor."""
    lost = dict.fromkeys(h.name for _, h in ranked if h.rank and h.actor not in winners)
    if not lost:
        return ""
    name = next(iter(lost))
    return f"the ransomware galaxy also has {name!r} (write {name + ' ransomware'!r} for it)"


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


def _stripped_forms(name: str) -> set[str]:
    """The keys a data name also answers to at the qualifier tier ("Operation Daybreak" -> "daybreak")."""
    if " " not in name:         # both strippers drop whole words: a one-word name stays itself
        return set()
    generic = strip_generic(name)
    forms = {generic, strip_operation(generic)}
    if generic != name:         # "Operation X Group": "X" and "X Group"
        forms.add(strip_operation(name))
    return {k for k in map(normalise, forms) if k}


def _parts(text: str) -> tuple[tuple[str, str], ...]:
    """The qualifier parts of a query, each also without a leading "Operation", with the piece it came from."""
    out: dict[str, str] = {}
    for part, piece in qualifier_pieces(text):
        out.setdefault(part, piece)
        out.setdefault(strip_operation(part), piece)
    return tuple(out.items())


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
