"""Actor clusters -> Targeting: what the galaxies say an actor targets, with provenance.

Structured meta fields are read first (the field registry below says what each
key means), then free-text descriptions (``reading``). The actor's own country
is never reported as a victim: a structured field or a description sentence that
says the actor attacked at home puts it in ``Targeting.domestic``, anything else
naming it is dropped. Everything is normalised through a ``Vocabulary`` and
merged across clusters; each item keeps its sources (with the sentence, for
descriptions) and original strings, and each category is ranked by how many
independent sources support it. Pure.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from enum import Enum
from typing import Iterable, Sequence

from .models import Cluster, Source, Targeting, TargetItem
from .reading import DescriptionReading, Reading, read_description
from .vocabulary import Entry, Kind, Vocabulary

__all__ = ["Coverage", "DescriptionReading", "FIELDS", "Reading", "Role", "coverage", "read_description",
           "targeting_for"]


class Role(Enum):
    """What a meta field holds."""

    VICTIMS = "victims"          # countries, regions or named organisations
    SECTORS = "sectors"
    MIXED = "mixed"              # "Oil and Gas, Middle East": sectors and places
    INCIDENT = "incident"
    SPONSOR = "sponsor"
    ORIGIN = "origin"
    MOTIVE = "motive"
    ACTOR_KIND = "actor-kind"    # microsoft "sector": the actor's origin or kind, not a victim sector


# Meta key -> meaning; iteration order is the output order within a cluster.
FIELDS: dict[str, Role] = {
    "cfr-suspected-victims": Role.VICTIMS,
    "suspected-victims": Role.VICTIMS,
    "observed_countries": Role.VICTIMS,
    "victimology": Role.MIXED,
    "cfr-target-category": Role.SECTORS,
    "targeted-sector": Role.SECTORS,
    "target_categories": Role.SECTORS,
    "target-category": Role.SECTORS,
    "cfr-type-of-incident": Role.INCIDENT,
    "cfr-suspected-state-sponsor": Role.SPONSOR,
    "country": Role.ORIGIN,
    "sector": Role.ACTOR_KIND,
    "motive": Role.MOTIVE,
    "observed_motivations": Role.MOTIVE,
}

# 360net's own origin codes (lower-cased); "namerica"/"southeast" are left as written: unclear.
_ORIGIN_ALIASES = {"america": "US", "korea": "KP", "southkorea": "KR", "kaz": "KZ", "trq": "TR",
                   "mideast": "Middle East"}
_NOT_INFO = {"", "unknown", "other"}
# Placeholders some curators put in a sector or victim list: they say nothing about a victim.
_PLACEHOLDERS = {"unknown", "other", "others", "n/a", "none", "various", "multiple", "tbd", "-"}
_CJK = re.compile(r"[\u3400-\u9fff]")
_SPLIT_MIXED = re.compile(r"\s*(?:[,;]|\band\b)\s*")


@dataclass(frozen=True, slots=True)
class Coverage:
    """How many actors have any victim information, and from where."""

    total: int
    with_any: int
    with_structured: int
    description_only: int


@dataclass(slots=True)
class _Acc:
    value: str
    code: str | None
    tag: str | None
    originals: list[str] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)


_CATEGORIES = ("countries", "regions", "organisations", "sectors",
               "incident_types", "sponsors", "origins", "motives", "domestic")


class _Merger:
    """Ordered, de-duplicating accumulator: one ``_Acc`` per (category, key)."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, _Acc]] = {c: {} for c in _CATEGORIES}

    def add(self, category: str, key: str, value: str, original: str, source: Source,
            code: str | None = None, tag: str | None = None) -> None:
        acc = self.items[category].setdefault(key, _Acc(value, code, tag))
        if original not in acc.originals:
            acc.originals.append(original)
        if source not in acc.sources:
            acc.sources.append(source)

    def entry(self, entry: Entry, original: str, source: Source, category: str | None = None) -> None:
        if category is None:
            category = {Kind.COUNTRY: "countries", Kind.REGION: "regions", Kind.SECTOR: "sectors"}[entry.kind]
        key = entry.code if entry.code else entry.value.casefold()
        self.add(category, key, entry.value, original, source, entry.code, entry.galaxy_tag)

    def raw(self, category: str, text: str, source: Source, original: str | None = None) -> None:
        value = " ".join(text.split())
        self.add(category, value.casefold(), value, original or text, source)

    def targeting(self) -> Targeting:
        def items(category: str) -> tuple[TargetItem, ...]:
            made = [TargetItem(a.value, tuple(a.originals), tuple(a.sources), a.code, a.tag)
                    for a in self.items[category].values()]
            return tuple(sorted(made, key=lambda i: -i.support))     # stable: ties keep first-seen order
        return Targeting(*(items(c) for c in _CATEGORIES))


def targeting_for(clusters: Sequence[Cluster], vocabulary: Vocabulary) -> Targeting:
    """Merge the targeting of one actor's clusters: structured fields first, then descriptions."""
    merged = _Merger()
    for cluster in clusters:
        for key, role in FIELDS.items():
            for raw in cluster.meta.get(key, ()):
                if raw.strip():
                    _structured(merged, role, raw.strip(), Source(cluster.galaxy, cluster.value, key), vocabulary)

    names = _own_names(clusters, vocabulary)
    memo: dict[str, list[Reading]] = {}
    readings = [(c, read_description(c.description, vocabulary, names, memo)) for c in clusters]
    # The actor's home: what structured fields and descriptions give as its origin or sponsor.
    stated: set[str] = {a.code for a in (*merged.items["origins"].values(), *merged.items["sponsors"].values())
                        if a.code}
    # A victim field naming the home its curators give says the actor attacked at home: domestic, not a
    # victim abroad. Only structured origins decide this: a curator's victim list is not overruled by prose.
    for key in stated & set(merged.items["countries"]):
        merged.items["domestic"][key] = merged.items["countries"].pop(key)
    # From descriptions, only the first sentence that names an origin: later ones name other actors'
    # homes too ("... after the Syrian Electronic Army").
    home = stated | {r.entry.code for _, d in readings for r in d.origins
                     if r.entry.code and r.sentence == d.origins[0].sentence}
    for cluster, reading in readings:
        for found in reading.victims:
            source = Source(cluster.galaxy, cluster.value, "description", found.sentence)
            code = found.entry.code
            if code is not None and code in merged.items["countries"]:
                merged.entry(found.entry, found.mention.text, source)      # a curator already lists it abroad
            elif code is None or code not in home:
                merged.entry(found.entry, found.mention.text, source)
            elif found.domestic:
                merged.entry(found.entry, found.mention.text, source, "domestic")
    return merged.targeting()


def _own_names(clusters: Sequence[Cluster], vocab: Vocabulary) -> tuple[str, ...]:
    """The actor's names that hold a place or sector word ("Syrian Electronic Army"), longest first."""
    names = sorted({n for c in clusters for n in (c.value, c.name, *c.synonyms) if len(n) > 3 and "\n" not in n})
    joined = "\n".join(names)
    # One pass over all names: where each name starts, and which names a place or sector word falls in.
    starts = [0]
    for name in names[:-1]:
        starts.append(starts[-1] + len(name) + 1)
    hits = {bisect_right(starts, m.start) - 1 for m in (*vocab.places_in(joined), *vocab.sectors_in(joined))}
    return tuple(sorted((names[i] for i in hits), key=len, reverse=True))


def _structured(merged: _Merger, role: Role, raw: str, source: Source, vocab: Vocabulary) -> None:
    if role is Role.VICTIMS:
        _victim(merged, raw, source, vocab)
    elif role is Role.SECTORS:
        if raw.casefold() in _PLACEHOLDERS:
            return
        for name in (vocab.english(raw) if _CJK.search(raw) else (raw,)):
            _sector(merged, name, source, vocab, original=raw)
    elif role is Role.MIXED:
        for piece in filter(None, _SPLIT_MIXED.split(raw)):
            if piece.casefold() in _PLACEHOLDERS:
                continue
            place = vocab.place(piece)
            if place:
                merged.entry(place, piece, source)
            else:
                _sector(merged, piece, source, vocab)
    elif role is Role.INCIDENT:
        merged.raw("incident_types", raw, source)
    elif role is Role.MOTIVE:
        merged.raw("motives", raw, source)
    elif role is Role.SPONSOR and raw.casefold() not in _NOT_INFO:
        _country_or_raw(merged, "sponsors", raw, source, vocab)
    elif role is Role.ORIGIN and raw.casefold() not in _NOT_INFO:
        _country_or_raw(merged, "origins", _ORIGIN_ALIASES.get(raw.casefold(), raw), source, vocab, raw)
    elif role is Role.ACTOR_KIND:
        place = vocab.place(raw)
        if place:
            merged.entry(place, raw, source, "origins")
        elif "financially motivated" in raw.casefold():
            merged.raw("motives", raw, source)


def _victim(merged: _Merger, raw: str, source: Source, vocab: Vocabulary) -> None:
    if raw.casefold() in _PLACEHOLDERS:
        return
    if re.fullmatch(r"[A-Z]{2}", raw) and vocab.country(raw) is None:
        merged.add("countries", raw, raw, raw, source, code=raw)   # a code the galaxy lacks ("GF")
        return
    names = vocab.english(raw) if _CJK.search(raw) else (raw,)
    found = False
    for name in names:
        entry = vocab.place(name) or (vocab.sector(name) if name != raw else None)
        if entry:
            merged.entry(entry, raw, source)
            found = True
        elif name != raw:                       # a translated organisation ("NATO")
            merged.raw("organisations", name, source, original=raw)
            found = True
    if not found:                               # named victims are kept, never dropped
        merged.raw("organisations", raw, source)


def _sector(merged: _Merger, name: str, source: Source, vocab: Vocabulary, original: str | None = None) -> None:
    entry = vocab.sector(name)
    if entry:
        merged.entry(entry, original or name, source)
    else:
        merged.raw("sectors", name, source, original=original)


def _country_or_raw(merged: _Merger, category: str, text: str, source: Source, vocab: Vocabulary,
                    original: str | None = None) -> None:
    entry = vocab.place(text)
    if entry:
        merged.entry(entry, original or text, source, category)
    else:
        merged.raw(category, text, source, original=original)


def coverage(targetings: Iterable[Targeting]) -> Coverage:
    """Counts over victims (countries, regions, organisations, sectors, domestic)."""
    total = with_any = with_structured = 0
    for t in targetings:
        total += 1
        victims = (*t.victims, *t.domestic)
        if victims:
            with_any += 1
            with_structured += any(i.structured for i in victims)
    return Coverage(total, with_any, with_structured, with_any - with_structured)
