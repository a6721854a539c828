"""Cluster descriptions -> the places and sectors they name as victims, sentence by sentence. Pure.

A description is markdown prose. Links are unwrapped before bare URLs are cut
(the other order lets a link pattern swallow the text between two links), then
each sentence is read: proper names ("World Anti-Doping Agency", "Social
Insurance Organization"), tool names ("a tool called Black Energy"), short
quoted titles and the actor's own names are masked; sector words are checked for
their sense ("evade defenses", "spyware technologies", "military applications");
``roles`` gives every place and sector left its part in the sentence. Only
sentences with a targeting cue yield victims. Every reading keeps its sentence,
and the ones not reported keep why, so answers and tests can show their evidence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Iterator, Sequence

from .roles import LIST_ROLES, Verdict, domestic_said, place_verdict, sector_verdict
from .vocabulary import Entry, Kind, Mention, Vocabulary


@dataclass(frozen=True, slots=True)
class Reading:
    """One place or sector mention in one sentence, and what it is there."""

    mention: Mention
    sentence: str
    verdict: Verdict
    domestic: bool = False   # the sentence says the actor attacked this place at home

    @property
    def entry(self) -> Entry:
        return self.mention.entry


@dataclass(frozen=True, slots=True)
class DescriptionReading:
    """Victim mentions, origin mentions, and the mentions dropped (with their verdict)."""

    victims: tuple[Reading, ...]
    origins: tuple[Reading, ...]
    dropped: tuple[Reading, ...]


_LINK = re.compile(r"\[([^\[\]]*)\]\(\s*[^()\s]*(?:\([^()\s]*\)[^()\s]*)*\s*\)")
_MARKUP = re.compile(r"\(Citation:[^)]*\)|<sup>.*?</sup>|</?[a-zA-Z][^<>]{0,200}>|https?://[^\s)\]]+")
_SENTENCE = re.compile(r"(?<=[a-z0-9)\]\"'][.!?])\s+|\n+")
_GLUED = re.compile(r"(?<=[a-z]{3}[.!?])(?=[A-Z][a-z]+\s)")     # "southeast Asia.According to ..."
_CUE = re.compile(r"(?i)\b(?:target|attack|against|victim|compromis|focus|breach|infect|intru|spy|spied"
                  r"|spying|phish|hack|affect|hit|struck|steal|stole|exfiltrat|impact|campaign|lure"
                  r"|espionage|operations|interest(?:ed)?\s+in|disrupt|sabotag|defac|ddos|leak|extort|ransom)")
# Capitalised words joined by a few lower-case connectors: candidate proper names.
_RUN = re.compile(r"[A-Z][\w'&.\-]*(?:(?:\s+(?:of|for|the|and|de|del|des|la|le|du|di|on|&)){0,2}\s+[A-Z][\w'&.\-]*)+")
# "and" joins two names ("Europe and NATO") unless a formal name holds it ("University of Defense and Technology").
_AND = re.compile(r"\s+(?:and|&)\s+")
_RUN_TOKEN = re.compile(r"[A-Z][\w'&.\-]*")
_NAMED = re.compile(r"\b(?:called|named|dubbed|codenamed|code-named|nicknamed|known\s+as|aka|a\.k\.a\.|tracked\s+as"
                    r"|referred\s+to\s+as)\s+(?:the\s+)?[\"“‘']?([A-Z][\w\-.]*(?:\s+[A-Z][\w\-.]*)*)")
_QUOTED = re.compile(r"[\"“‘]([A-Z][^\"“”‘’]{1,60})[\"”’]")
# Capitalised words that do not make a name: category nouns ("Energy Sector", "Technology Companies") and
# compass words ("Central and South America").
_NEUTRAL = frozenset("sector sectors industry industries companies company organizations organisations organization "
                     "organisation entities entity institutions institution firms firm providers provider operators "
                     "operator services networks network targets agencies agency governments government forces force "
                     "of the central north south east west northern southern eastern western northeast northwest "
                     "southeast southwest".split())
_GEOGRAPHY = frozenset("sea seas ocean gulf strait straits bay canal peninsula river lake mountains desert "
                       "island islands".split())
_GOVERNMENT_BODY = frozenset("ministry ministries embassy embassies department departments".split())
# Organisations named after their sector: "Belarusian State University", "Truist Bank".
_NAME_HEADS = frozenset("university universities college bank hospital airport airlines".split())
# Sector words that read as something else unless a category noun or a list makes them a sector.
_NEEDS_CONTEXT = frozenset({"Technology", "Police - Law enforcement"})
_CATEGORY = _NEUTRAL | frozenset("victims contractors personnel officials employees staff users "
                                 "giants vendors manufacturers startups suppliers verticals professionals "
                                 "workers engineers experts".split())
# People who buy from a sector are not the sector: "e-commerce shoppers", "banking customers".
_CONSUMERS = frozenset("shoppers customers consumers subscribers players gamers".split())
# Nouns that make a sector word a modifier of a thing, not a sector: "military applications".
_THING = frozenset("applications application products product purposes purpose tools tool tooling software hardware "
                   "equipment solutions expertise knowledge grade capabilities capability dialogue conference "
                   "conferences summit policy policies themes theme themed topics topic lures lure decoys decoy "
                   "documents document gain gains fraud frauds theft crime crimes motivation motivations motive motives "
                   "profit datasets data information histories accounts transactions scams scam schemes trojan "
                   "trojans malware apps app credentials advisory advisories report reports bulletin "
                   "technologies weapons weapon crisis evasion defenses defences exercises operations sanctions "
                   "layer protocol protocols materials regulation regulations terms intervention brutality action actions "
                   "partners efforts takedown element elements names profile profiles loss losses".split())
_DEFENSE_SENSE = re.compile(r"(?i)\b(?:evade|evading|evasion|bypass\w*|network|security|cyber|endpoint|active"
                            r"|windows|disabl\w*|weaken\w*|circumvent\w*|their|its)\s+$")
# Between two items of one list: separators, maybe other short items ("banks, law enforcement, and shipping").
# "namely"/"including" continue a list of lures only ("from major banks, namely Shinhan Savings Bank").
_LIST_GAP = re.compile(r"\s*(?:,\s*)?((?:namely|including|such\s+as|e\.g\.)\s+)?(?:[\w\-]+(?:\s+[\w\-]+)?\s*,\s*){0,3}"
                       r"(?:(?:and|or|&|/)\s+)?(?:the\s+)?(?:[A-Z][\w\-]*\s+){0,3}$")
_LANGUAGE_AFTER = re.compile(r"[\s\-]+(?:speakers|speaking|language)\b")
_TARGETED_BEFORE = re.compile(r"(?i)\b(?:target\w*|attack(?:s|ed|ing)?|against|compromis\w*|hack(?:s|ed|ing)?|breach\w*|infect\w*)\b"
                              r"[^.;]{0,60}$")
_ELIDED = re.compile(r"\b(North|South|Central|East|West|Eastern|Western|Northern|Southern|Southeast|Northeast)"
                     r"\s+(?:and|&|or)\s+$")
_APPOSITION = re.compile(r"\s*\(\s*$")
_SECTOR_GAP = re.compile(r"\s*(?:,|and|or|&|/|,\s*and|,\s*or)\s*$")
# Recall terms that are themselves names: "the Winter Olympic Games" is a sporting event.
_NAME_SECTOR_TERMS = frozenset({"olympic games", "olympics", "olympic committee"})


def read_description(text: str, vocabulary: Vocabulary, names: Sequence[str] = (),
                     memo: dict[str, list[Reading]] | None = None) -> DescriptionReading:
    """Victims, origins and dropped mentions of one description; ``names`` are the actor's own names.

    ``memo`` (sentence -> readings) lets one actor's clusters share work: galaxies copy
    each other's sentences (Tidal's groups repeat ATT&CK's text).
    """
    victims: list[Reading] = []
    origins: list[Reading] = []
    dropped: list[Reading] = []
    for sentence in sentences(text):
        found = memo.get(sentence) if memo is not None else None
        if found is None:
            found = read_sentence(sentence, vocabulary, names)
            if memo is not None:
                memo[sentence] = found
        for reading in found:
            if reading.verdict is Verdict.VICTIM:
                victims.append(reading)
            elif reading.verdict is Verdict.ORIGIN and reading.entry.kind is not Kind.SECTOR:
                origins.append(reading)
            else:
                dropped.append(reading)
    return DescriptionReading(tuple(victims), tuple(origins), tuple(dropped))


def sentences(text: str) -> Iterator[str]:
    """Plain-text sentences of a markdown description."""
    text = _MARKUP.sub(" ", _LINK.sub(r"\1", (text or "").replace("’", "'")))
    return (" ".join(s.split()) for part in _SENTENCE.split(text) for s in _GLUED.split(part) if s.strip())


def read_sentence(sentence: str, vocabulary: Vocabulary, names: Sequence[str] = ()) -> list[Reading]:
    """Every place and sector mention of one sentence with its verdict, in text order."""
    places = list(vocabulary.places_in(sentence))
    places += _elided(sentence, places, vocabulary)
    sectors = list(vocabulary.sectors_in(sentence))
    if not places and not sectors:
        return []
    cue = _CUE.search(sentence) is not None
    masked = _masks(sentence, names)
    runs = _name_runs(sentence, places, sectors)
    out: list[Reading] = []
    origin_ends: list[int] = []
    previous: Reading | None = None
    for mention in sorted((*places, *sectors), key=lambda m: m.start):
        if not cue and mention.entry.kind is Kind.SECTOR:
            out.append(Reading(mention, sentence, Verdict.NO_CUE))   # no victim here, and a sector is no origin
            continue
        verdict = _verdict(sentence, mention, masked, runs, sectors, origin_ends)
        gap = _LIST_GAP.match(sentence, previous.mention.end, mention.start) if previous is not None else None
        if previous is not None and gap and verdict is Verdict.VICTIM and previous.verdict in LIST_ROLES \
                and (previous.verdict is Verdict.LURE or not gap.group(1)) \
                and not _CUE.search(sentence, previous.mention.end, mention.start):
            verdict = previous.verdict          # "located in China and Taiwan": the list shares its role
        elif previous is not None and _APPOSITION.match(sentence, previous.mention.end, mention.start) \
                and sentence.startswith(")", mention.end):
            verdict = previous.verdict          # "People's Republic of China (PRC)-aligned": one place
        if verdict is Verdict.ORIGIN and mention.entry.kind is not Kind.SECTOR:
            origin_ends.append(mention.end)
        if verdict is Verdict.VICTIM and not cue:
            verdict = Verdict.NO_CUE
        domestic = verdict is Verdict.VICTIM and mention.entry.kind is Kind.COUNTRY \
            and domestic_said(sentence, mention)
        reading = Reading(mention, sentence, verdict, domestic)
        out.append(reading)
        if verdict is not Verdict.NAME:         # a name inside a list does not end it
            previous = reading
    # "a group based in Belarus ... targeting organizations in Belarus": it says the actor attacked at home.
    homes = {r.entry.code for r in out if r.verdict is Verdict.ORIGIN and r.entry.code}
    out = [Reading(r.mention, sentence, r.verdict, True) if r.verdict is Verdict.VICTIM and r.entry.code in homes
           and _TARGETED_BEFORE.search(sentence, 0, r.mention.start) else r for r in out]
    # "with a focus on Russia and Ukraine-themed content": a theme or an event shared backwards by a list.
    # "English, German, Italian, and Japanese speakers": the language noun after the list covers it all.
    carried = False
    for i in range(len(out) - 1, 0, -1):
        later, earlier = out[i], out[i - 1]
        shared = carried or later.verdict in (Verdict.LURE, Verdict.CONTEXT) or (
            later.verdict is Verdict.ORIGIN and _LANGUAGE_AFTER.match(sentence, later.mention.end))
        carried = bool(shared and earlier.verdict is Verdict.VICTIM and earlier.mention.demonym == later.mention.demonym
                       and _LIST_GAP.match(sentence, earlier.mention.end, later.mention.start))
        if carried:
            out[i - 1] = Reading(earlier.mention, sentence, later.verdict)
    return out


def _verdict(sentence: str, mention: Mention, masked: list[tuple[int, int]], runs: list[tuple[int, int, bool, bool]],
             sectors: list[Mention], origin_ends: list[int]) -> Verdict:
    if any(s <= mention.start and mention.end <= e for s, e in masked):
        return Verdict.NAME
    kind = mention.entry.kind
    for start, end, geographic, government in runs:
        if start <= mention.start and mention.end <= end:
            if kind is Kind.COUNTRY and not geographic:
                break                           # "Israel Airports Authority": the organisation's country
            if kind is Kind.SECTOR and government and mention.entry.value in ("Diplomacy", "Defense"):
                break                           # "Ministry of Foreign Affairs" is the diplomatic sector
            if kind is Kind.SECTOR and mention.text.casefold() in _NAME_SECTOR_TERMS:
                break
            if kind is Kind.SECTOR and mention.text.casefold() in _NAME_HEADS:
                # ... unless the name is the actor's patron: "ties to the Chinese National University of Defense".
                if any(start <= o < end for o in origin_ends):
                    return Verdict.ORIGIN
                break
            return Verdict.NAME
    if kind is not Kind.SECTOR:
        return place_verdict(sentence, mention)
    if any(0 <= mention.start - end <= 4 for end in origin_ends):
        return Verdict.ORIGIN                   # "the Chinese government": the sponsor
    if not _sector_sense(sentence, mention, sectors):
        return Verdict.SENSE
    return sector_verdict(sentence, mention)


def _sector_sense(sentence: str, mention: Mention, sectors: list[Mention]) -> bool:
    """Whether the sector word names a sector here, not a thing ("spyware technologies")."""
    word = mention.text.casefold()
    if word in ("defenses", "defences") or (mention.entry.value == "Defense"
                                            and _DEFENSE_SENSE.search(sentence, 0, mention.start)):
        return False
    head = _head(sentence, mention.end, " " not in mention.text.strip())
    if head in _THING or head in _CONSUMERS:
        return False
    if mention.entry.value in _NEEDS_CONTEXT:
        listed = any(_SECTOR_GAP.match(sentence, o.end, mention.start) or _SECTOR_GAP.match(sentence, mention.end,
                     o.start) for o in sectors if o is not mention)
        return head in _CATEGORY or (listed and not word.endswith("ies"))
    return True


def _head(sentence: str, end: int, single: bool) -> str | None:
    """The noun a sector word modifies, when we know it.

    "military applications", "financial and identity datasets" and "personal,
    financial, and business information" name things; "technology companies" names
    a sector. In a list of nouns ("hospitality, software, consulting") each item is
    its own: only a single adjective-like word looks past its list to the head.
    """
    words: list[str] = [w.casefold().strip("-") for w in re.findall(r"[\w'\-]+|[^\w\s]", sentence[end:end + 80])[:12]]
    if words[:1] in (["related"], ["themed"], ["focused"], ["oriented"]):
        words = words[1:]                       # "energy-related data": the head is "data"
    if not words:
        return None
    if single and words[0] in (",", "and", "or"):
        ends = [i for i, w in enumerate(words) if w in ("and", "or")]
        # the head follows the last item: "..., and business information" / "and identity datasets"
        at = ends[0] + 2 if ends and all(w == "," or w.isalpha() for w in words[:ends[0]]) else None
        if at is not None and at < len(words) and (words[at] in _THING or words[at] in _CONSUMERS):
            return words[at]
        return None
    return words[0] if words[0] in _THING or words[0] in _CATEGORY or words[0] in _CONSUMERS else None


def _elided(sentence: str, places: list[Mention], vocabulary: Vocabulary) -> list[Mention]:
    """Regions written half: "Central and South America" also names Central America."""
    out: list[Mention] = []
    for m in places:
        before = _ELIDED.search(sentence, 0, m.start) if m.entry.kind is Kind.REGION else None
        if before and not any(p.start <= before.start(1) < p.end for p in places):   # "Middle East and Asia"
            name = f"{before.group(1)} {m.text.split()[-1]}"
            entry = vocabulary.region(name)
            if entry is not None and entry != m.entry:
                out.append(Mention(entry, name, before.start(1), before.end(1)))
    return out


def _masks(sentence: str, names: Sequence[str]) -> list[tuple[int, int]]:
    """Spans no mention may come from: the actor's names, "called X" names, short quoted titles."""
    spans: list[tuple[int, int]] = []
    for name in names:
        for m in re.finditer(r"(?<![\w\-])" + re.escape(name) + r"(?![\w\-])", sentence):
            spans.append(m.span())
    spans.extend(m.span(1) for m in _NAMED.finditer(sentence))
    spans.extend(m.span(1) for m in _QUOTED.finditer(sentence) if len(m.group(1).split()) <= 6)
    return spans


def _name_runs(sentence: str, places: Iterable[Mention],
               sectors: Iterable[Mention]) -> list[tuple[int, int, bool, bool]]:
    """Proper names: (start, end, has a geographic word, is a government body) per run of capitalised words.

    A run is a name when it holds a capitalised word that is neither a place, nor a
    sector, nor a category noun, nor the sentence's first word: "Social Insurance
    Organization" is one; "Oil and Gas", "Energy Sector" and "South Korea" are not.
    """
    known = [(m.start, m.end) for m in (*places, *sectors)]
    first = re.match(r"\W*", sentence)
    first_at = first.end() if first else 0
    out: list[tuple[int, int, bool, bool]] = []
    for start, end in _split_runs(sentence):
        words = list(_RUN_TOKEN.finditer(sentence, start, end))
        # A word a place or sector starts is known: "French-speaking", "U.S.-based".
        other = [w for w in words if w.start() != first_at and _bare(w.group()) not in _NEUTRAL
                 and not any(s <= w.start() < e for s, e in known)]
        if not other:
            continue
        lowered = {_bare(w.group()) for w in words}
        out.append((start, end, bool(lowered & _GEOGRAPHY), bool(lowered & _GOVERNMENT_BODY)))
    return out


def _split_runs(sentence: str) -> Iterator[tuple[int, int]]:
    for run in _RUN.finditer(sentence):
        start = run.start()
        for joint in _AND.finditer(sentence, run.start(), run.end()):
            if not re.search(r"\s(?:of|for)\s", sentence[run.start():joint.start()]):
                yield start, joint.start()
                start = joint.end()
        yield start, run.end()


def _bare(word: str) -> str:
    """A capitalised word without its possessive and trailing dot, folded: "Ministry's" -> "ministry"."""
    word = word.casefold().rstrip(".")
    return word[:-2] if word.endswith("'s") else word
