"""TextScanner: find the actors a free text names, with the alias index's tiers and ambiguity rules.

Built once from a ``Knowledge``: every name the alias index knows (cluster values,
ATT&CK primary names, synonyms, names of retired clusters, and the same names without
generic words or a parenthesised qualifier) becomes a token sequence in a trie. A scan
tokenises the text with one regex (letter runs and digit runs, so "APT37", "APT 37" and
"apt-37" give the same tokens), walks the trie greedily for the longest name at each
token, and resolves what was written with ``knowledge.resolve``: no second resolver.

Precision comes before recall; a name counts only when written as a name:

* whole words only: a name never matches inside "Reapers", "APT370" or "apt37.exe";
* ids (a digit and upper-case letters in the data: APT37, TA505, UNC2452, G0067) match in
  any case; "ta 505" with a space needs the letters in capitals ("Man 1" is not MAN1);
* other names follow the data's capitalisation word by word: a capitalised word must be
  capitalised in the text ("Fancy Bear", "FANCY BEAR", never "fancy bear"), an all-caps
  word must be all caps ("ZINC", not "Zinc" unless the data also writes "Zinc"); a spelling
  all in lower case ("money message") is capitalised in the text like any name;
* *weak* names are ordinary words (``_ORDINARY``, chemical elements, names of three
  letters or fewer, a few common phrases, "Group 3"; the ransomware galaxy's in
  ``ordinary``: "Cuba", "Core", "Money Message"). One counts only with evidence: an
  actor word next to it ("the Reaper group", "threat actor Tick", "known as Silence",
  "Vermin is a threat actor"), another name of the same actor elsewhere in the text
  (Reaper ... APT37), or a list with an accepted actor ("Reaper, Kimsuky and Lazarus").
  An all-caps weak name (ZINC, LEAD) counts when written in all caps on its own. A weak
  name next to another capitalised word ("Cobalt Strike", "Equation Editor", "IoT Reaper",
  "MQ-9 Reaper", "LEAD POISONING") or before a malware word ("Snake ransomware") never
  counts, unless the name is a ransomware operation's ("Cuba ransomware"). Qualifier-stripped
  forms that are ordinary words ("Iron" from "Iron Group") are not indexed at all;
* any one-word name followed by a capitalised word ("Akira Yoshiyama") or a malware word
  ("Vatet loader") is not a mention, and nothing inside a URL is.

Mentions are grouped per actor (per candidate set when ambiguous), in order of first
appearance; unknown names and suggestions never come out of free text.
"""

from __future__ import annotations

import re
import unicodedata
from collections import deque
from dataclasses import dataclass
from typing import Callable, Iterable, Protocol

from .models import RANSOMWARE_GALAXY, SITE_GALAXY, Resolution, Status
from .names import clean, normalise, strip_generic
from .ordinary import NOT_NAMES
from .ordinary import ORDINARY_PHRASES as _ORDINARY_RANSOMWARE_PHRASES
from .ordinary import ORDINARY_WORDS as _ORDINARY_RANSOMWARE

MAX_NAME_TOKENS = 10
SNIPPET_CONTEXT = 50          # characters each side of the first mention, trimmed to words

_TOKEN = re.compile(r"[^\W\d_]+|\d+")
# Inside a name: what people write between its words ("APT 37", "APT-C-28", "Dragonfly 2.0",
# "TEMP.Veles", a line break in wrapped text), then the next token. Never a comma or ". ".
_NEXT = re.compile(r"([ \t\u00a0]{0,3}(?:\r?\n[ \t\u00a0]{0,3})?|[ \u00a0]?[-\u2010-\u2013][ \u00a0]?|[_.])"
                   r"([^\W\d_]+|\d+)")
_NEXT_WORD = re.compile(r"[^\S\n]{1,3}([^\W\d_]+)")
_PREV_WORD = re.compile(r"([^\W_]+)[^\S\n]{1,3}$")
_ARTICLES = frozenset({"The", "A", "An", "THE"})
_ACTOR_WORD = r"(?:group|team|gang|crew|apt|actors?|hackers|operators|collective|syndicate|cybergang)\b"
# "the Reaper group", "Silence cybercriminal group", "Tick threat actor".
_ACTOR_AFTER = re.compile(
    r"[^\S\n]{1,3}(?:(?:threat|hacking|hacker|hacktivist|apt|espionage|cyber-?espionage|activity|criminal|"
    r"cyber-?criminal|cyber-?crime|ransomware|state-sponsored|intrusion|adversary)[^\S\n]{1,3})?" + _ACTOR_WORD,
    re.IGNORECASE)
# "Vermin is a threat actor group", "Confucius is an APT organization" (but not "a group of").
_DEFINED_AFTER = re.compile(
    r"[^\S\n]{1,3}(?:is|was|are|were)[^\S\n]+(?:an?|the)[^\S\n]+(?:[\w-]+[^\S\n]+){0,3}?"
    r"(?:group|actor|apt|gang|crew|organi[sz]ation|hackers|operators|adversary|threat)\b(?![^\S\n]+of\b)",
    re.IGNORECASE)
_GROUP_LINK = re.compile(r"\]\(https?://attack\.mitre\.org/groups/G\d{4}")     # [Rancor](.../groups/G0075)
_ACTOR_BEFORE = re.compile(
    r"\b(?:group|actor|apt|gang|crew|known as|aka|a\.k\.a\.?|tracked as|we call|calls)[^\S\n]{1,3}"
    r"(?:the[^\S\n]+)?$", re.IGNORECASE)
_TOOL_AFTER = re.compile(
    r"[^\S\n]{1,3}(?:malware|rootkit|trojan|backdoor|botnet|loader|keylogger|stealer|rat|implant|"
    r"dropper|worm|virus|exploits?|toolkit|framework|family|variants?|samples?|strain|payloads?|tool)\b",
    re.IGNORECASE)
_RANSOMWARE_AFTER = re.compile(r"(?:[^\S\n]{1,3}|[^\S\n]*\r?\n[^\S\n]*)ransomware\b", re.IGNORECASE)
_LIST_GAP = re.compile(r"[\s,;/&()\"'“”‘’、，（）]*(?:(?:and|or|aka|a\.k\.a\.?|also known as|as well as)"
                       r"[\s,;/&()\"'“”‘’、，（）]*)?", re.IGNORECASE)
_QUALIFIER = re.compile(r"\s*[(（\[].*$")
_SPACE = re.compile(r"\s+")

# Single-word actor names (or qualifier-stripped forms) that are ordinary words or
# well-known other things, from a pass over the bundled galaxies' alphabetic names.
_ORDINARY = frozenset("""
    amoeba anonymous antlion armageddon axiom basin beijing belsen billbug bitter blackfly blackjack
    boron bromine buckeye budworm butterfly calc callisto calypso cardinal castle chafer chimera
    chrysene cicada cleaver cobalt comment confucius copper deadwood desorden dogfish dragonfly dukes
    dune electrum elfin equation fallout foudre frankenstein gaza ghostwriter gorgon gorilla grayling
    groundbait hacking hangover hexane hippo honeybee hoodoo inception indra iron kairos koala krypton
    lead leafminer leviathan lexus longhorn lurid machete magecart mana mantis mask massgrave maze
    mercury mirage monsoon moonlight morpho nazar newscaster nickel nitro oxygen pacha pacifier packrat
    palmerworm patchwork phosphorus pickaxe pioneer play polaris popeye poseidon pupa rancor rattlesnake
    reaper reuse royal sandman sauron scarab sharpshooter shell sidewinder siesta silence silicon
    silverfish slingshot snake snowglobe sowbug springtail strider sulfur sulphur summit superman
    swallowtail tailgater tantalum tick tonto trident tsar unnamed vermin voyeur watchdog waterbug
    webworm whitefly whois wildcard windigo wisp wraith yanbian zinc
""".split())
# Multi-word names that are ordinary phrases or titles ("the Big Bang", "Cloud Atlas").
_ORDINARY_PHRASES = frozenset(s.strip() for s in """
    animal farm, bad magic, big bang, brown fox, cloud atlas, cold river, common raven, crescent and star,
    cyber alliance, deputy dog, desert falcon, double dragon, evil eye, genesis day, golden rat, grey cloud,
    guardian of peace, guardians of peace, holy souls, lucky cat, luna moth, pla navy, prince of persia,
    red eyes, red wolf, rotten tomato, salted earth, sands casino, shadow network, silver fox, snake wine,
    social network, space pirates, sphinx moth, storm cloud, tortoise shell, ugly face, white bear,
    white company
""".split(","))
# File magic, a URL fragment, placeholders, a company.
_NEVER = frozenset({"gif89a", "1php", "unnamedactor", "unnamedgroup", "alibaba"})
_GENERIC_FIRST = frozenset({"group", "team", "unit", "actor"})

_ANY, _CAPITAL, _UPPER = 0, 1, 2


@dataclass(frozen=True, slots=True)
class Mention:
    """One place the text names an actor: character offsets and the text as written."""

    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class TextFinding:
    """One actor (or one ambiguous name's candidate set) found in the text.

    ``resolution`` is the alias index's answer for the first mention; ``snippet`` quotes
    the text around it with the name marked «like this».
    """

    resolution: Resolution
    mentions: tuple[Mention, ...]
    snippet: str

    @property
    def status(self) -> Status:
        return self.resolution.status

    @property
    def names(self) -> tuple[str, ...]:
        """The distinct names the text used, first-seen order, spacing collapsed."""
        return tuple(dict.fromkeys(clean(m.text) for m in self.mentions))


@dataclass(frozen=True, slots=True)
class TextScan:
    """What a scan found, in order of first appearance."""

    findings: tuple[TextFinding, ...] = ()

    @property
    def resolved(self) -> tuple[TextFinding, ...]:
        return tuple(f for f in self.findings if f.status is Status.RESOLVED)

    @property
    def ambiguous(self) -> tuple[TextFinding, ...]:
        return tuple(f for f in self.findings if f.status is Status.AMBIGUOUS)


@dataclass(frozen=True, slots=True)
class _Entry:
    patterns: tuple[tuple[int, ...], ...]   # per alias spelling: one case rule per token
    caps: tuple[bool, ...]                  # per spelling: a single all-caps word of 4+ letters
    weak: bool
    single: bool                            # one word of letters only: may name a tool instead


class _Node:
    __slots__ = ("children", "entry")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.entry: _Entry | None = None


@dataclass(slots=True)
class _Candidate:
    start: int
    end: int
    resolution: Resolution
    verdict: bool | None          # True accept, False reject, None needs evidence

    @property
    def actor_id(self) -> int | None:
        actor = self.resolution.actor
        return actor.id if actor is not None else None

    @property
    def group(self) -> tuple[int, ...]:
        ids = tuple(sorted(c.actor.id for c in self.resolution.candidates))
        return ids if self.resolution.status is Status.AMBIGUOUS else (-1, *ids)


class _Names(Protocol):
    def names(self) -> Iterable[str]: ...


class NameSource(Protocol):
    """What a scanner is built from: a ``Knowledge`` (its alias index and resolver)."""

    @property
    def index(self) -> _Names: ...

    def resolve(self, name: str) -> Resolution: ...


class TextScanner:
    """Immutable once built; ``scan`` is safe to call from many threads."""

    def __init__(self, names: Iterable[str], resolve: Callable[[str], Resolution]) -> None:
        self._resolve = resolve
        root = _Node()
        spellings: dict[tuple[str, ...], dict[str, None]] = {}
        for name in names:
            for form in _forms(name):
                tokens = tuple(_key(t) for t in _TOKEN.findall(form))
                if 0 < len(tokens) <= MAX_NAME_TOKENS and not all(t.isdigit() for t in tokens) \
                        and normalise(form) not in _NEVER and normalise(form) not in NOT_NAMES:
                    spellings.setdefault(tokens, {})[form] = None
        for tokens, forms in spellings.items():
            weak = _is_weak(tokens)
            node = root
            for token in tokens:
                node = node.children.setdefault(token, _Node())
            patterns = tuple(dict.fromkeys(_pattern(f, weak) for f in forms))
            caps = tuple(len(p) == 1 and p[0] == _UPPER and len(tokens[0]) >= 4 for p in patterns)
            node.entry = _Entry(patterns, caps, weak, len(tokens) == 1 and tokens[0].isalpha())
        self._root = root
        self.name_count = len(spellings)

    @classmethod
    def from_knowledge(cls, knowledge: NameSource) -> TextScanner:
        """Index every name ``knowledge`` resolves; build once and share (tens of ms on the real data)."""
        return cls(knowledge.index.names(), knowledge.resolve)

    def scan(self, text: str) -> TextScan:
        candidates = self._candidates(text)
        accepted = _accept(text, candidates)
        groups: dict[tuple[int, ...], list[_Candidate]] = {}
        for cand in accepted:
            groups.setdefault(cand.group, []).append(cand)
        return TextScan(tuple(
            TextFinding(members[0].resolution,
                        tuple(Mention(c.start, c.end, text[c.start:c.end]) for c in members),
                        snippet(text, members[0].start, members[0].end))
            for members in groups.values()))

    def _candidates(self, text: str) -> list[_Candidate]:
        """Greedy longest names left to right, resolved; unknown names and suggestions dropped."""
        root, resolve, consumed = self._root.children, self._resolve, 0
        resolved: dict[str, Resolution] = {}
        out: list[_Candidate] = []
        for match in _TOKEN.finditer(text):
            raw = match.group()
            node = root.get(raw.casefold() if raw.isascii() else _key(raw))
            if node is None:
                continue
            start = match.start()
            if start < consumed or _joined(text, start - 1, -1):
                continue
            tokens, pos = [raw], match.end()
            gaps: list[str] = []
            fitting: list[tuple[int, _Entry, bool]] = []
            while True:
                entry = node.entry
                if entry is not None and not _joined(text, pos, 1):
                    fits = [entry.caps[i] for i, p in enumerate(entry.patterns) if _fits(p, tokens, gaps)]
                    if fits:
                        fitting.append((pos, entry, any(fits)))
                step = _NEXT.match(text, pos) if node.children else None
                child = node.children.get(_key(step.group(2))) if step else None
                if step is None or child is None:
                    break
                gaps.append(step.group(1))
                tokens.append(step.group(2))
                pos, node = step.end(), child
            if fitting and _in_url(text, start):
                continue
            for end, entry, caps in reversed(fitting):          # longest first
                written = text[start:end]
                resolution = resolved.get(written)
                if resolution is None:
                    resolution = resolved[written] = resolve(clean(written))
                if resolution.status in (Status.RESOLVED, Status.AMBIGUOUS):
                    verdict = _operation_verdict(text, start, end, entry, resolution,
                                                 _verdict(text, start, end, entry, caps))
                    out.append(_Candidate(start, end, resolution, verdict))
                    consumed = end
                    break
        return out


def _forms(name: str) -> tuple[str, ...]:
    """A data name, without a parenthesised qualifier, and without generic words unless ordinary."""
    forms = [name]
    bare = _QUALIFIER.sub("", name).strip()
    if bare and bare != name:
        forms.append(bare)
    for form in list(forms):
        stripped = strip_generic(form)
        if stripped != form and stripped.casefold() not in _ORDINARY and stripped.casefold() not in _ORDINARY_PHRASES:
            forms.append(stripped)
    return tuple(forms)


def _key(token: str) -> str:
    return token.casefold() if token.isascii() else unicodedata.normalize("NFKC", token).casefold()


def _is_weak(tokens: tuple[str, ...]) -> bool:
    words = tokens[1:] if tokens[0] == "the" and len(tokens) > 1 else tokens
    if len(words) == 1:
        word = words[0]
        return word.isalpha() and (word in _ORDINARY or word in _ORDINARY_RANSOMWARE or word.endswith("ium")
                                   or len(word) <= 3)
    if len(words) == 2 and words[0] in _GENERIC_FIRST and words[1].isdigit():
        return int(words[1]) < 1000                  # "Group 3", "Unit 121"; "Unit 8200" is a name
    phrase = " ".join(words)
    return phrase in _ORDINARY_PHRASES or phrase in _ORDINARY_RANSOMWARE_PHRASES


def _pattern(form: str, weak: bool) -> tuple[int, ...]:
    """One case rule per token of a spelling: ids free, capitalised words capitalised, caps in caps."""
    has_digit = any(ch.isdigit() for ch in form)
    # An all-lower-case spelling is a normalised one (the ransomware galaxy's "money message"), not a
    # capitalisation: its words are capitalised in prose like any name's.
    lowered = form.islower() and " " in form
    rules = []
    for i, token in enumerate(_TOKEN.findall(form)):
        if token.isdigit() or (has_digit and (token.isupper() or token.islower())) \
                or (i == 0 and token.casefold() == "the"):
            rules.append(_ANY)
        elif token.isupper() and len(token) >= 2:
            rules.append(_UPPER)
        elif token[0].isupper() or weak or lowered:
            rules.append(_CAPITAL)
        else:
            rules.append(_ANY)
    return tuple(rules)


def _fits(pattern: tuple[int, ...], tokens: list[str], gaps: list[str]) -> bool:
    for i, (rule, token) in enumerate(zip(pattern, tokens, strict=True)):
        if rule == _CAPITAL and not token[0].isupper():
            return False
        if rule == _UPPER and not token.isupper():
            return False
        # "APT 37" yes, "apt 37" and "Man 1" no: a spaced-out id is written in capitals.
        if i and rule == _ANY and token.isdigit() and gaps[i - 1].isspace() and pattern[i - 1] == _ANY \
                and not tokens[i - 1].isdigit() and not tokens[i - 1].isupper():
            return False
    return True


def _in_url(text: str, start: int) -> bool:
    """True inside a URL or path-like run ("https://attack.mitre.org/groups/G0032"): not prose."""
    before = text[max(0, start - 200):start]
    if not before or before[-1].isspace():
        return False          # the name starts a word: a URL would run into it
    word = before.split()[-1]
    return "://" in word or word.startswith("www.")


def _joined(text: str, i: int, away: int) -> bool:
    """True when ``text[i]`` glues a name to a longer word (``away`` is -1 before it, +1 after it)."""
    if not 0 <= i < len(text):
        return False
    ch = text[i]
    beyond = i + away
    return ch.isalnum() or ch in "_@" or (ch == "." and 0 <= beyond < len(text) and text[beyond].isalnum())


def _verdict(text: str, start: int, end: int, entry: _Entry, caps: bool) -> bool | None:
    """Accept (True), reject (False), or wait for evidence elsewhere in the text (None)."""
    written = text[start:end]
    if written.islower() and "/" in (text[start - 1:start], text[end:end + 1]):
        return False                                    # a path: "$(mandir)/man1"
    if _ACTOR_AFTER.match(text, end) or _DEFINED_AFTER.match(text, end) or _GROUP_LINK.match(text, end):
        return True
    if entry.single or entry.weak:
        following = _NEXT_WORD.match(text, end)
        if following is not None:
            word = following.group(1)
            if _TOOL_AFTER.match(text, end) or (entry.weak and word.casefold() == "ransomware"):
                return False                            # "Vatet loader", "Snake ransomware"
            if word[0].isupper() and (entry.weak or not written.isupper()):
                return False                            # "Cobalt Strike", "Akira Yoshiyama", "LEAD POISONING"
    if not entry.weak:
        return True
    before = text[max(0, start - 40):start]
    if _ACTOR_BEFORE.search(before):
        return True
    previous = _PREV_WORD.search(before)
    if previous is not None and previous.group(1) not in _ARTICLES \
            and (previous.group(1)[0].isupper() or previous.group(1)[-1].isdigit()):
        return False                                    # "IoT Reaper", "MQ-9 Reaper", "Grim Reaper"
    return True if caps else None


def _operation_verdict(text: str, start: int, end: int, entry: _Entry, resolution: Resolution,
                       verdict: bool | None) -> bool | None:
    """A ransomware operation's name followed by "ransomware" counts ("Cuba ransomware"; "Snake" stays
    Turla's), unless it ends a longer name ("Wasted Locker ransomware"); an ordinary word only the
    ransomware galaxy gives needs that, or evidence elsewhere: "a Telegram group" is no operation."""
    operations = [c.actor for c in resolution.candidates if c.actor.ransomware]
    if not operations or len(operations) < len(resolution.candidates):
        return verdict
    if _RANSOMWARE_AFTER.match(text, end):
        previous = _PREV_WORD.search(text[max(0, start - 40):start])
        named = previous is not None and previous.group(1) not in _ARTICLES \
            and (previous.group(1)[0].isupper() or previous.group(1)[-1].isdigit())
        return verdict if named else True
    only_ransomware = all(c.galaxy in (RANSOMWARE_GALAXY, SITE_GALAXY) for a in operations for c in a.clusters)
    return None if entry.weak and only_ransomware and verdict else verdict


def _accept(text: str, candidates: list[_Candidate]) -> list[_Candidate]:
    """Weak mentions waiting for evidence: the same actor accepted elsewhere, or a list with one."""
    accepted = [c.verdict is True for c in candidates]
    waiting: dict[int, list[int]] = {}
    for i, cand in enumerate(candidates):
        if cand.verdict is None and cand.actor_id is not None:
            waiting.setdefault(cand.actor_id, []).append(i)
    queue = deque(i for i, ok in enumerate(accepted) if ok)
    while queue:
        i = queue.popleft()
        cand = candidates[i]
        newly = waiting.pop(cand.actor_id, []) if cand.actor_id is not None else []
        for j in (i - 1, i + 1):
            if 0 <= j < len(candidates) and candidates[j].verdict is None:
                left, right = sorted((cand, candidates[j]), key=lambda c: c.start)
                gap = text[left.end:right.start]
                if len(gap) <= 40 and _LIST_GAP.fullmatch(gap):
                    newly.append(j)
        for j in newly:
            if not accepted[j]:
                accepted[j] = True
                queue.append(j)
    return [c for c, ok in zip(candidates, accepted, strict=True) if ok]


def snippet(text: str, start: int, end: int, context: int = SNIPPET_CONTEXT) -> str:
    """The text around one mention, on word boundaries, whitespace collapsed, the name «marked»."""
    lo, hi = max(0, start - context), min(len(text), end + context)
    before, after = text[lo:start], text[end:hi]
    if lo > 0:
        cut = re.search(r"\s", before)
        before = "…" + (before[cut.end():] if cut else "")
    if hi < len(text):
        cut = re.search(r"\s\S*$", after)
        after = (after[:cut.start()] if cut else "") + "…"
    marked = f"{before}«{text[start:end]}»{after}"
    return _SPACE.sub(" ", marked).strip()
