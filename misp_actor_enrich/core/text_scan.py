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
  word must be all caps ("ZINC", not "Zinc" unless the data also writes "Zinc");
* what a name means besides the actor (``name_senses``) decides what it needs around it
  (``mention_rules``): an *ordinary* word (Reaper, Silence, Tick, the chemical elements,
  places, names of three letters or fewer, "Group 3") counts only with evidence: an actor
  word next to it ("the Reaper group", "threat actor Tick", "known as Silence", "Vermin is a
  threat actor", "Dragonfly, a group that ..."), another name of the same actor elsewhere in
  the text (Reaper ... APT37), or a list with an accepted actor ("Reaper, Kimsuky and
  Lazarus"). An all-caps ordinary name (ZINC, LEAD) counts when written in all caps on its
  own. One next to another capitalised word ("Cobalt Strike", "Equation Editor", "IoT
  Reaper", "MQ-9 Reaper", "LEAD POISONING") or before a malware word ("Snake ransomware")
  never counts, unless the name is a ransomware operation's ("Cuba ransomware"). Qualifier-stripped
  forms that are everyday words ("Iron" from "Iron Group") are not indexed at all. A name with *another meaning* (Lazarus, Sandworm, Turla, Poseidon)
  counts with the same evidence, or anywhere in a text about security
  (``security_context``) or one that also names an actor by a distinctive name;
* any one-word name followed by a capitalised word ("Akira Yoshiyama") or a malware word
  ("Vatet loader") is not a mention, and nothing inside a URL is.

Names given side by side ("APT35, or Charming Kitten") narrow each other (``apposition``)
before the evidence is weighed. Mentions are grouped per actor (per candidate set when
ambiguous), in order of first appearance, each finding saying why when a name counted
because of the names beside it or the text's subject; unknown names and suggestions never
come out of free text.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Callable, Iterable, Protocol

from .apposition import narrow
from .mention_rules import Spotted, because, operation_verdict, verdict, weigh
from .models import Candidate, Resolution, Status
from .name_senses import NameSenses, Sense
from .ordinary import NOT_NAMES
from .names import clean, normalise, strip_generic

MAX_NAME_TOKENS = 10
MAX_MENTIONS = 10_000       # names read in one text (see TextScan.stopped_at)
SNIPPET_CONTEXT = 50          # characters each side of the first mention, trimmed to words

_TOKEN = re.compile(r"[^\W\d_]+|\d+")
# Inside a name: what people write between its words ("APT 37", "APT-C-28", "Dragonfly 2.0",
# "TEMP.Veles", a line break in wrapped text), then the next token. Never a comma or ". ".
_NEXT = re.compile(r"([ \t\u00a0]{0,3}(?:\r?\n[ \t\u00a0]{0,3})?|[ \u00a0]?[-\u2010-\u2013][ \u00a0]?|[_.])"
                   r"([^\W\d_]+|\d+)")
_QUALIFIER = re.compile(r"\s*[(（\[].*$")
_SPACE = re.compile(r"\s+")

# File magic, a URL fragment, placeholders, a company.
_NEVER = frozenset({"gif89a", "1php", "unnamedactor", "unnamedgroup", "alibaba"})

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
    # Why a mention counted when the name alone would not have: the names given beside it
    # ("named side by side in “APT35, or Charming Kitten” ...") or the text's subject.
    because: str = ""

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
    # Where reading stopped when the text named actors more than MAX_MENTIONS times (None: read whole):
    # the cost of a scan is bounded whatever the text, and the answer says what was not read.
    stopped_at: int | None = None

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
    sense: Sense                            # what the name means besides the actor
    single: bool                            # one word of letters only: may name a tool instead


class _Node:
    __slots__ = ("children", "entry")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.entry: _Entry | None = None


class _Names(Protocol):
    def names(self) -> Iterable[str]: ...

    def holders(self, name: str) -> tuple[Candidate, ...]: ...


class _Places(Protocol):
    def place(self, text: str) -> object: ...


class NameSource(Protocol):
    """What a scanner is built from: a ``Knowledge`` (its alias index, resolver and vocabulary)."""

    @property
    def index(self) -> _Names: ...

    @property
    def vocabulary(self) -> _Places: ...

    def resolve(self, name: str) -> Resolution: ...


class TextScanner:
    """Immutable once built; ``scan`` is safe to call from many threads."""

    def __init__(self, names: Iterable[str], resolve: Callable[[str], Resolution], *,
                 holders: Callable[[str], tuple[Candidate, ...]] | None = None,
                 senses: NameSenses | None = None) -> None:
        """``holders`` (every actor a name may mean) lets names given side by side narrow each other;
        ``senses`` says what a name means besides the actor (word tables only, when not given)."""
        self._resolve = resolve
        self._holders = holders
        senses = senses if senses is not None else NameSenses()
        root = _Node()
        spellings: dict[tuple[str, ...], dict[str, None]] = {}
        for name in names:
            for form in _forms(name, senses):
                tokens = tuple(_key(t) for t in _TOKEN.findall(form))
                if 0 < len(tokens) <= MAX_NAME_TOKENS and not all(t.isdigit() for t in tokens) \
                        and normalise(form) not in _NEVER and normalise(form) not in NOT_NAMES:
                    spellings.setdefault(tokens, {})[form] = None
        for tokens, forms in spellings.items():
            sense = senses.of_words(tokens, next(iter(forms)))
            node = root
            for token in tokens:
                node = node.children.setdefault(token, _Node())
            # A word that means something else counts only capitalised, however the data writes it.
            patterns = tuple(dict.fromkeys(_pattern(f, sense is not Sense.DISTINCTIVE) for f in forms))
            caps = tuple(len(p) == 1 and p[0] == _UPPER and len(tokens[0]) >= 4 for p in patterns)
            node.entry = _Entry(patterns, caps, sense, len(tokens) == 1 and tokens[0].isalpha())
        self._root = root
        self.name_count = len(spellings)

    @classmethod
    def from_knowledge(cls, knowledge: NameSource) -> TextScanner:
        """Index every name ``knowledge`` resolves; build once and share (tens of ms on the real data).

        A name that is a country or region of the vocabulary galaxies is a place first."""
        return cls(knowledge.index.names(), knowledge.resolve, holders=knowledge.index.holders,
                   senses=NameSenses(knowledge.vocabulary.place))

    def scan(self, text: str) -> TextScan:
        candidates, stopped_at = self._candidates(text)
        live = [c for c in candidates if c.verdict is not False]
        if self._holders is not None and len(live) > 1:
            spans = [(c.start, c.end) for c in live]
            for settled in narrow(text, spans, [c.resolution for c in live], self._holders):
                live[settled.index].resolution = settled.resolution
                live[settled.index].because = settled.because
        groups: dict[tuple[int, ...], list[Spotted]] = {}
        for cand in weigh(text, live):
            groups.setdefault(cand.group, []).append(cand)
        return TextScan(tuple(
            TextFinding(members[0].resolution,
                        tuple(Mention(c.start, c.end, text[c.start:c.end]) for c in members),
                        snippet(text, members[0].start, members[0].end),
                        because(text, members))
            for members in groups.values()), stopped_at)

    def _candidates(self, text: str) -> tuple[list[Spotted], int | None]:
        """Greedy longest names left to right, resolved; unknown names and suggestions dropped.

        Stops after ``MAX_MENTIONS`` names (and says where): a text that is nothing but actor names
        costs the same per name as any other, and this bounds it.
        """
        root, resolve, consumed = self._root.children, self._resolve, 0
        resolved: dict[str, Resolution] = {}
        out: list[Spotted] = []
        for match in _TOKEN.finditer(text):
            if len(out) >= MAX_MENTIONS:
                return out, match.start()
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
                    said = verdict(text, start, end, entry.sense, entry.single, caps)
                    said = operation_verdict(text, start, end, entry.sense, resolution, said)
                    out.append(Spotted(start, end, resolution, said, entry.sense))
                    consumed = end
                    break
        return out, None


def _forms(name: str, senses: NameSenses) -> tuple[str, ...]:
    """A data name, without a parenthesised qualifier, and without generic words unless an everyday word."""
    forms = [name]
    bare = _QUALIFIER.sub("", name).strip()
    if bare and bare != name:
        forms.append(bare)
    for form in list(forms):
        stripped = strip_generic(form)
        if stripped != form and not senses.everyday(stripped):
            forms.append(stripped)
    return tuple(forms)


def _key(token: str) -> str:
    return token.casefold() if token.isascii() else unicodedata.normalize("NFKC", token).casefold()


def _pattern(form: str, capitalised: bool) -> tuple[int, ...]:
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
        elif token[0].isupper() or capitalised or lowered:
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
