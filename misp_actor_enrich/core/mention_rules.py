"""Whether a name found in free text counts as an actor's name: the evidence beside it and in the rest of the text.

The text scanner finds names; this decides which of them are written as an actor's name.
Each mention first gets a verdict from what is written around it (``verdict``): an actor
word next to it ("the Reaper group", "threat actor Tick", "Vermin is a threat actor",
"Dragonfly, a group that ...") accepts it; a tool word after it ("Vatet loader", "the
Poseidon agent"), another capitalised word beside an ordinary or one-word name ("Cobalt
Strike", "IoT Reaper", "Akira Yoshiyama"), or a lower-case path rejects it; a distinctive
name needs nothing more. Ordinary words and names with another meaning (``name_senses``)
otherwise wait for evidence in the rest of the text (``weigh``):

* a name with another meaning counts when the text is about security
  (``security_context``) or names an actor by a distinctive name (APT37, Kimsuky);
* any waiting mention counts when another mention of the same actor counted, or when it
  stands in a list with one that did ("Reaper, Kimsuky and Lazarus").

Linear: one look around each mention, at most one search of the text for its subject,
and each mention enters the evidence queue once.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass

from .models import RANSOMWARE_GALAXY, SITE_GALAXY, Resolution, Status
from .name_senses import Sense
from .names import clean
from .security_context import security_subject

_NEXT_WORD = re.compile(r"[^\S\n]{1,3}([^\W\d_]+)")
_PREV_WORD = re.compile(r"([^\W_]+)[^\S\n]{1,3}$")
_RANSOMWARE_AFTER = re.compile(r"(?:[^\S\n]{1,3}|[^\S\n]*\r?\n[^\S\n]*)ransomware\b", re.IGNORECASE)
_ARTICLES = frozenset({"The", "A", "An", "THE"})
_ACTOR_WORD = r"(?:group|team|gang|crew|apt|actors?|hackers|operators|collective|syndicate|cybergang)\b"
# "the Reaper group", "Silence cybercriminal group", "Tick threat actor".
_ACTOR_AFTER = re.compile(
    r"[^\S\n]{1,3}(?:(?:threat|hacking|hacker|hacktivist|apt|espionage|cyber-?espionage|activity|criminal|"
    r"cyber-?criminal|cyber-?crime|ransomware|state-sponsored|intrusion|adversary)[^\S\n]{1,3})?" + _ACTOR_WORD,
    re.IGNORECASE)
# "Vermin is a threat actor group", "Confucius is an APT organization", "Dragonfly, a group that"
# (but not "a group of").
_DEFINED_AFTER = re.compile(
    r"(?:[^\S\n]{1,3}(?:is|was|are|were)[^\S\n]+|,[^\S\n]+)(?:an?|the)[^\S\n]+(?:[\w-]+[^\S\n]+){0,3}?"
    r"(?:group|actor|apt|gang|crew|organi[sz]ation|hackers|operators|adversary|threat)\b(?![^\S\n]+of\b)",
    re.IGNORECASE)
_GROUP_LINK = re.compile(r"\]\(https?://attack\.mitre\.org/groups/G\d{4}")     # [Rancor](.../groups/G0075)
_ACTOR_BEFORE = re.compile(
    r"\b(?:group|actor|apt|gang|crew|known as|aka|a\.k\.a\.?|tracked as|we call|calls)[^\S\n]{1,3}"
    r"(?:the[^\S\n]+)?$", re.IGNORECASE)
_TOOL_AFTER = re.compile(
    r"[^\S\n]{1,3}(?:malware|rootkit|trojan|backdoor|botnet|loader|keylogger|stealer|rat|implant|"
    r"dropper|worm|virus|exploits?|toolkit|framework|family|variants?|samples?|strain|payloads?|tool|agents?)\b",
    re.IGNORECASE)
_LIST_GAP = re.compile(r"[\s,;/&()\"'“”‘’、，（）]*(?:(?:and|or|aka|a\.k\.a\.?|also known as|as well as)"
                       r"[\s,;/&()\"'“”‘’、，（）]*)?", re.IGNORECASE)


@dataclass(slots=True)
class Spotted:
    """A name found in the text and resolved, and what is known so far about whether it counts."""

    start: int
    end: int
    resolution: Resolution
    verdict: bool | None          # True accept, False reject, None needs evidence
    sense: Sense
    because: str = ""             # the names beside it settled its meaning
    context: str = ""             # it counted only because of what the text is about

    @property
    def actor_id(self) -> int | None:
        actor = self.resolution.actor
        return actor.id if actor is not None else None

    @property
    def group(self) -> tuple[int, ...]:
        ids = tuple(sorted(c.actor.id for c in self.resolution.candidates))
        return ids if self.resolution.status is Status.AMBIGUOUS else (-1, *ids)


def verdict(text: str, start: int, end: int, sense: Sense, single: bool, caps: bool) -> bool | None:
    """Accept (True), reject (False), or wait for evidence elsewhere in the text (None).

    ``single``: the name is one word of letters, which may name a tool instead; ``caps``: it is
    written as an all-caps word the data also writes in capitals (ZINC).
    """
    weak = sense is Sense.ORDINARY
    written = text[start:end]
    if written.islower() and "/" in (text[start - 1:start], text[end:end + 1]):
        return False                                    # a path: "$(mandir)/man1"
    if _ACTOR_AFTER.match(text, end) or _DEFINED_AFTER.match(text, end) or _GROUP_LINK.match(text, end):
        return True
    if single or weak:
        following = _NEXT_WORD.match(text, end)
        if following is not None:
            word = following.group(1)
            if _TOOL_AFTER.match(text, end) or (weak and word.casefold() == "ransomware"):
                return False                            # "Vatet loader", "Snake ransomware"
            if word[0].isupper() and (weak or not written.isupper()):
                return False                            # "Cobalt Strike", "Akira Yoshiyama", "LEAD POISONING"
    if sense is Sense.DISTINCTIVE:
        return True
    before = text[max(0, start - 40):start]
    if _ACTOR_BEFORE.search(before):
        return True
    previous = _PREV_WORD.search(before) if weak else None
    if previous is not None and previous.group(1) not in _ARTICLES \
            and (previous.group(1)[0].isupper() or previous.group(1)[-1].isdigit()):
        return False                                    # "IoT Reaper", "MQ-9 Reaper", "Grim Reaper"
    return True if caps else None


def operation_verdict(text: str, start: int, end: int, sense: Sense, resolution: Resolution,
                      said: bool | None) -> bool | None:
    """A ransomware operation's name followed by "ransomware" counts ("Cuba ransomware"; "Snake" stays
    Turla's), unless it ends a longer name ("Wasted Locker ransomware"); an ordinary word only the
    ransomware galaxy gives needs that, or evidence elsewhere: "a Telegram group" is no operation."""
    operations = [c.actor for c in resolution.candidates if c.actor.ransomware]
    if not operations or len(operations) < len(resolution.candidates):
        return said
    if _RANSOMWARE_AFTER.match(text, end):
        previous = _PREV_WORD.search(text[max(0, start - 40):start])
        named = previous is not None and previous.group(1) not in _ARTICLES \
            and (previous.group(1)[0].isupper() or previous.group(1)[-1].isdigit())
        return said if named else True
    only_ransomware = all(c.galaxy in (RANSOMWARE_GALAXY, SITE_GALAXY) for a in operations for c in a.clusters)
    return None if sense is Sense.ORDINARY and only_ransomware and said else said


def weigh(text: str, spotted: list[Spotted]) -> list[Spotted]:
    """The mentions that count, in order: accepted ones, and waiting ones the rest of the text accepts."""
    _in_context(text, spotted)
    return _accept(text, spotted)


def because(text: str, members: list[Spotted]) -> str:
    """Why one actor's mentions counted, when their names alone would not have."""
    said = dict.fromkeys(c.because for c in members if c.because)
    if all(c.context for c in members):      # no mention counted on its own or beside another name
        first = members[0]
        said[f"“{clean(text[first.start:first.end])}” also has another meaning; counted because {first.context}"] = None
    return "; ".join(said)


def _in_context(text: str, candidates: list[Spotted]) -> None:
    """Names with another meaning waiting for evidence count when the text is about security.

    Or when it names an actor by a distinctive name (APT37, Kimsuky): a page about a novel
    does not. The text is searched for its subject at most once, and only when needed.
    """
    waiting = [c for c in candidates if c.verdict is None and c.sense is Sense.OTHER_MEANING]
    if not waiting:
        return
    other = next((c for c in candidates if c.verdict is True and c.sense is Sense.DISTINCTIVE
                  and c.resolution.status is Status.RESOLVED), None)
    if other is not None:
        reason = f"the text also names {clean(text[other.start:other.end])}"
    else:
        subject = security_subject(text)
        if subject is None:
            return
        reason = f"the text is about security (“{subject}”)"
    for cand in waiting:
        cand.verdict = True
        cand.context = reason           # one string for all: a long text may hold thousands of such mentions


def _accept(text: str, candidates: list[Spotted]) -> list[Spotted]:
    """Mentions waiting for evidence: the same actor accepted elsewhere, or a list with one."""
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
