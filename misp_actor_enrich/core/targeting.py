"""Actor clusters -> Targeting: what the galaxies say an actor targets, with provenance.

Structured meta fields are read first (the field registry below says what each
key means), then free-text descriptions, where the actor's own origin must not
be mistaken for a victim. Everything is normalised through a ``Vocabulary`` and
merged across clusters; each item keeps its sources and original strings. Pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Iterable, Iterator, Sequence

from .models import Cluster, Source, Targeting, TargetItem
from .vocabulary import Entry, Kind, Mention, Vocabulary


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
_CJK = re.compile(r"[\u3400-\u9fff]")
_SPLIT_MIXED = re.compile(r"\s*(?:[,;]|\band\b)\s*")


@dataclass(frozen=True, slots=True)
class Coverage:
    """How many actors have any victim information, and from where."""

    total: int
    with_any: int
    with_structured: int
    description_only: int


@dataclass(frozen=True, slots=True)
class DescriptionReading:
    """Places and sectors a description names as victims, and the places it names as origin."""

    victims: tuple[Mention, ...]
    origins: tuple[Mention, ...]


@dataclass(slots=True)
class _Acc:
    value: str
    code: str | None
    tag: str | None
    originals: list[str] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)


_CATEGORIES = ("countries", "regions", "organisations", "sectors",
               "incident_types", "sponsors", "origins", "motives")


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
            return tuple(TargetItem(a.value, tuple(a.originals), tuple(a.sources), a.code, a.tag)
                         for a in self.items[category].values())
        return Targeting(*(items(c) for c in _CATEGORIES))


def targeting_for(clusters: Sequence[Cluster], vocabulary: Vocabulary) -> Targeting:
    """Merge the targeting of one actor's clusters: structured fields first, then descriptions."""
    merged = _Merger()
    for cluster in clusters:
        for key, role in FIELDS.items():
            for raw in cluster.meta.get(key, ()):
                if raw.strip():
                    _structured(merged, role, raw.strip(), Source(cluster.galaxy, cluster.value, key), vocabulary)

    readings = [(c, read_description(c.description, vocabulary)) for c in clusters]
    # Descriptions mention the actor's home mostly as origin ("a Chinese group"), so never as victim.
    home = {a.code for a in (*merged.items["origins"].values(), *merged.items["sponsors"].values()) if a.code}
    home |= {m.entry.code for _, r in readings for m in r.origins if m.entry.code}
    for cluster, reading in readings:
        source = Source(cluster.galaxy, cluster.value, "description")
        for mention in reading.victims:
            if mention.entry.code is None or mention.entry.code not in home:
                merged.entry(mention.entry, mention.text, source)
    return merged.targeting()


def _structured(merged: _Merger, role: Role, raw: str, source: Source, vocab: Vocabulary) -> None:
    if role is Role.VICTIMS:
        _victim(merged, raw, source, vocab)
    elif role is Role.SECTORS:
        for name in (vocab.english(raw) if _CJK.search(raw) else (raw,)):
            _sector(merged, name, source, vocab, original=raw)
    elif role is Role.MIXED:
        for piece in filter(None, _SPLIT_MIXED.split(raw)):
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
    """Counts over victims (countries, regions, organisations, sectors)."""
    total = with_any = with_structured = 0
    for t in targetings:
        total += 1
        if t.victims:
            with_any += 1
            with_structured += any(i.structured for i in t.victims)
    return Coverage(total, with_any, with_structured, with_any - with_structured)


# --- description reading ------------------------------------------------------

_MARKUP = re.compile(r"\(Citation:[^)]*\)|<sup>.*?</sup>|https?://\S+")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_SENTENCE = re.compile(r"(?<=[a-z0-9)\]\"'][.!?])\s+|\n+")
_CUE = re.compile(r"(?i)\b(?:target|attack|against|victim|compromis|focus|breach|infect|intru|spy|spied"
                  r"|spying|phish|hack|affect|hit|struck|steal|stole|exfiltrat|impact|campaign|lure"
                  r"|espionage|operations)")
# Words right before a place that make it the actor's origin ("linked to the Chinese government").
_ORIGIN_BEFORE = re.compile(r"""(?ix)
    (?: \b(?:linked|tied|ties|attributed|attribution|sponsored|backed|directed|tasked|funded|affiliated
           |align\w*|allegiance|behalf|interests|interest|support|nexus|serving|works|working|employed
           |contractors?)(?:\s+\w+ly)?(?:\s+(?:to|by|with|of|for))?
      | \b(?:be|is|was|likely|reportedly|allegedly|probably|possibly|group|actors?|operators?)[\s,]+
        (?:\w+ly\s+)?(?:based|located|headquartered)\s+(?:in|out\s+of)
      | \b(?:operat\w*|hails?|originat\w*|comes?|coming|emanat\w*)\s+(?:\w+ly\s+)?(?:out\s+of|from|in)
      | \b(?:groups?|actors?|hackers?|operators?|attackers?|apts?|adversar\w+|crew|gang)\s+(?:from|in)
    )
    \s+(?:(?:the|a|an|suspected|likely|possibly|probably|alleged)\s+)*
    (?:(?:government|state|regime|military|people's)\s+(?:of\s+)?)?$
    | \bpro-$""")
_REPORTER_BEFORE = re.compile(r"(?i)\baccording\s+to\s+(?:the\s+)?$")
# "expanded its targeting beyond the Korean peninsula": the place is named as not (only) the target.
_EXCLUDED_BEFORE = re.compile(r"(?i)\b(?:beyond|outside(?:\s+of)?|except|excluding|other\s+than)\s+(?:the\s+)?$")
_TAIL = re.compile(r"(?:'s)?((?:[\s\-]+[\w']+){1,4})")
_STOP = frozenset("by of in on at to for with and or that which who whose the a an its their from "
                  "against as is are was were has have had but since including such through via using during after "
                  "before between across over into within throughout amid like".split())
_VICTIM_NOUNS = frozenset("companies company organizations organisations organization organisation "
                          "entities entity firms businesses banks victims targets users individuals citizens "
                          "officials networks institutions agencies ministries embassies dissidents activists "
                          "journalists nationals people residents students interests corporations".split())
_ORIGIN_NOUNS = frozenset("group groups actor actors apt apts hacker hackers hacking threat operator operators "
                          "sponsored backed based nexus linked aligned affiliated attributed speaking speakers "
                          "language origin espionage cyberespionage criminal criminals cybercriminal "
                          "cybercriminals cybercrime gang crew collective adversary adversaries hacktivist "
                          "hacktivists intelligence mss gru fsb svr irgc mois pla rgb army nation ransomware "
                          "team cluster activity unit invasion".split())
# Modifiers that mean origin unless a victim noun follows ("Israel-based IT company", "Chinese-speaking users").
_WEAK_ORIGIN = frozenset("based speaking language origin".split())
_REPORTER_NOUNS = frozenset("cybersecurity antivirus researchers researcher vendor vendors".split())


class _Verdict(Enum):
    VICTIM = 1
    ORIGIN = 2
    OTHER = 3


def read_description(text: str, vocabulary: Vocabulary) -> DescriptionReading:
    """Victim places and sectors named in a description, and places named as the actor's origin.

    Only sentences with a targeting cue ("target", "attack", "against" ...) yield
    victims; a place is origin when an origin phrase precedes it ("based in",
    "linked to") or an actor noun follows it ("North Korean state-sponsored group").
    """
    victims: list[Mention] = []
    origins: list[Mention] = []
    for sentence in _sentences(text):
        cue = _CUE.search(sentence) is not None
        local_origins: list[Mention] = []
        for mention in vocabulary.places_in(sentence):
            verdict = _verdict(sentence, mention)
            if verdict is _Verdict.ORIGIN:
                local_origins.append(mention)
            elif verdict is _Verdict.VICTIM and cue:
                victims.append(mention)
        if cue:
            # "the Chinese government" right after an origin place is the sponsor, not a victim sector.
            victims.extend(m for m in vocabulary.sectors_in(sentence)
                           if not any(0 <= m.start - o.end <= 4 for o in local_origins))
        origins.extend(local_origins)
    return DescriptionReading(tuple(victims), tuple(origins))


def _sentences(text: str) -> Iterator[str]:
    text = _LINK.sub(r"\1", _MARKUP.sub(" ", (text or "").replace("’", "'")))
    return (s for s in _SENTENCE.split(text) if s.strip())


def _verdict(sentence: str, mention: Mention) -> _Verdict:
    before = sentence[max(0, mention.start - 80):mention.start]
    if _REPORTER_BEFORE.search(before) or _EXCLUDED_BEFORE.search(before):
        return _Verdict.OTHER
    if _ORIGIN_BEFORE.search(before):
        return _Verdict.ORIGIN
    tail = _TAIL.match(sentence, mention.end)
    tokens = [t.casefold() for t in re.findall(r"[\w']+", tail.group(1))] if tail else []
    weak = False
    for i, token in enumerate(tokens):
        if token in _STOP:
            break
        if token in _VICTIM_NOUNS:
            return _Verdict.VICTIM
        if token in _WEAK_ORIGIN:
            weak = True
        elif token in _ORIGIN_NOUNS:
            return _Verdict.ORIGIN
        elif token in _REPORTER_NOUNS or (token == "security" and tokens[i + 1:i + 2] in (
                ["firm"], ["company"], ["vendor"], ["researchers"], ["firms"], ["companies"])):
            return _Verdict.OTHER
    return _Verdict.ORIGIN if weak else _Verdict.VICTIM
