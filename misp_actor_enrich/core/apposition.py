"""Names given side by side: "X, also known as Y", "X (Y)", "X, or Y", "X aka Y", "dubbed", "tracked as".

A text that writes names next to each other as names of one actor says they are one actor,
so the names narrow each other. Of the actors that hold each name (however weakly: one
galaxy listing it as a synonym is enough), when exactly one holds them all, every one of
the names means that actor, and the answer quotes the words that made it so. Alone, each
name may be ambiguous ("Imperial Kitten": Tortoiseshell or Bohrium) or mean another actor
("Charming Kitten" is its own cluster in threat-actor, while ATT&CK and Microsoft list it
under APT35): "Imperial Kitten, also known as Tortoiseshell" is Tortoiseshell, "APT35, or
Charming Kitten" is APT35. Nothing changes when the names share no actor or several.

What counts as side by side, between two consecutive names: an alias phrase ("also known
as", "aka", "tracked as", "dubbed", "which Microsoft tracks as", "the Russian actor also
known as"), ", or", an opening bracket, a slash. After an alias phrase or inside the
bracket, a list goes on naming the same actor ("also known as APT28, Sofacy and STRONTIUM",
"(UNC3944, Octo Tempest)"); a closing bracket ends that list. A run of names is cut where a
name shares no actor with the names before it, so "Fancy Bear, also known as APT28, and
Cozy Bear (APT29)" gives two actors.

Pure and linear: each gap between consecutive names is looked at once, each name's holders
looked up once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Sequence

from .models import Candidate, Resolution, Status
from .names import clean

MAX_GAP = 80                 # characters between two names given side by side
QUOTE_LIMIT = 120            # characters of the quoted words in the answer

_Q = r"[\s\"'“”‘’«»]*"
_ALIAS = (r"(?:(?:also|otherwise|formerly|previously|better|commonly|sometimes|publicly|now|alternatively|"
          r"internally|originally)\s+)*"
          r"(?:(?:known|tracked|referred\s+to|identified|designated|labell?ed|reported|described)"
          r"(?:\s+by\s+[\w&.'’-]+(?:\s+[\w&.'’-]+)?)?\s+as|called|dubbed|named|aka|a\.k\.a\.?|alias)")
_WHICH = (r"(?:which|that|whom|who)\s+(?:(?:is|are|was|were|has\s+been|have\s+been)\s+)?"
          r"(?:" + _ALIAS + r"|(?:[\w&.'’-]+\s+){1,3}?(?:also\s+)?(?:calls?|tracks?|names?|dubs?|refers?\s+to|labels?)"
          r"(?:\s+(?:it|them|the\s+\w+|this\s+\w+))?(?:\s+as)?)")
_DESCRIBED = (r"(?:(?:an?|the)\s+(?:[\w&.'’-]+\s+){0,4}?(?:group|actor|apt|gang|team|crew|cluster|adversary|collective|"
              r"unit|operators?|hackers)\s*,?\s+)")
# An actor word the first name may carry: "the Reaper group, which FireEye calls APT37".
_WORD = r"(?:\s+(?:group|team|gang|crew|actors?|apt|hackers|operators|threat\s+actor))?"
_OPENER = re.compile(
    rf"{_WORD}{_Q}(?:[,;:–—-]{_Q})?{_DESCRIBED}?(?:{_WHICH}|{_ALIAS}){_Q}:?{_Q}"
    rf"|{_WORD}{_Q},{_Q}or\s+{_Q}"                                       # "X, or Y"
    r"|\s*/\s*",                                                       # "X / Y"
    re.IGNORECASE)
_BRACKET = re.compile(rf"{_WORD}{_Q}[(\[（]{_Q}(?:(?:{_ALIAS}|or)[\s:]*{_Q})?", re.IGNORECASE)
_CLOSE = re.compile(rf"{_Q}[)\]）]")
_CONTINUE = re.compile(
    rf"{_Q}(?:[,;/]{_Q})?(?:(?:and|or|as\s+well\s+as)\s+{_Q})?(?:[A-Z][\w&.'’-]*\s+(?:as\s+)?{_Q})?"
    r"|\s*/\s*")


@dataclass(frozen=True, slots=True)
class Narrowed:
    """A name whose meaning the names beside it settled: its new resolution and why."""

    index: int
    resolution: Resolution
    because: str


def runs(text: str, spans: Sequence[tuple[int, int]]) -> list[list[int]]:
    """Runs of consecutive names (indexes into ``spans``, in text order) given side by side."""
    out: list[list[int]] = []
    run = [0] if spans else []
    introduced = bracket = False
    for i in range(1, len(spans)):
        end, start = spans[i - 1][1], spans[i][0]
        link = _link(text[end:start], introduced, bracket) if start - end <= MAX_GAP else None
        if link is None:
            if len(run) > 1:
                out.append(run)
            run, introduced, bracket = [i], False, False
        else:
            run.append(i)
            introduced, bracket = link
    if len(run) > 1:
        out.append(run)
    return out


def _link(gap: str, introduced: bool, bracket: bool) -> tuple[bool, bool] | None:
    """(introduced, inside a bracket) after the gap when it joins two names of one actor, else None."""
    closed = _CLOSE.match(gap) if ")" in gap or "]" in gap or "）" in gap else None
    if closed is not None:
        if not bracket:
            return None
        gap, bracket = gap[closed.end():], False
        if not gap.strip():
            return None
    if ("(" in gap or "[" in gap or "（" in gap) and _BRACKET.fullmatch(gap):
        return introduced, True
    if _OPENER.fullmatch(gap):
        return True, bracket
    if closed is None and (introduced or bracket) and _CONTINUE.fullmatch(gap):
        return introduced, bracket
    return None


def narrow(text: str, spans: Sequence[tuple[int, int]], resolutions: Sequence[Resolution],
           holders: Callable[[str], tuple[Candidate, ...]]) -> list[Narrowed]:
    """The names whose meaning changes because the text gives them side by side with others."""
    out: list[Narrowed] = []
    held: dict[str, dict[int, Candidate]] = {}      # by name as written: a report repeats its names

    def holding(i: int) -> dict[int, Candidate]:
        written = text[spans[i][0]:spans[i][1]]
        if written not in held:
            held[written] = {c.actor.id: c for c in holders(clean(written))}
        return held[written]

    for run in runs(text, spans):
        if len({_actor_id(resolutions[i]) for i in run}) == 1 and _actor_id(resolutions[run[0]]) is not None:
            continue                                   # one actor already: nothing to narrow
        segment, shared = [run[0]], set(holding(run[0]))
        for i in run[1:]:
            common = shared & set(holding(i))
            if common:
                segment.append(i)
                shared = common
            else:
                out.extend(_settle(text, spans, resolutions, segment, shared, holding))
                segment, shared = [i], set(holding(i))
        out.extend(_settle(text, spans, resolutions, segment, shared, holding))
    return out


def _settle(text: str, spans: Sequence[tuple[int, int]], resolutions: Sequence[Resolution], segment: list[int],
            shared: set[int], holding: Callable[[int], dict[int, Candidate]]) -> list[Narrowed]:
    if len(segment) < 2 or len(shared) != 1:
        return []
    (actor_id,) = shared
    first, end = spans[segment[0]][0], spans[segment[-1]][1]
    closing = _CLOSE.match(text, end, end + 4)
    if closing is not None and any(b in text[first:end] for b in "([（"):
        end = closing.end()                         # quote the bracket the names opened, closed
    quoted = clean(text[first:end])
    if len(quoted) > QUOTE_LIMIT:
        quoted = quoted[:QUOTE_LIMIT - 1] + "…"
    name = holding(segment[0])[actor_id].actor.name
    because = (f"named side by side in “{quoted}”: {name} is the only actor with "
               f"{'both names' if len(segment) == 2 else 'all these names'}")
    out = []
    for i in segment:
        if _actor_id(resolutions[i]) != actor_id:
            written = text[spans[i][0]:spans[i][1]]
            resolution = Resolution(written, Status.RESOLVED, (holding(i)[actor_id],), reason=because)
            out.append(Narrowed(i, resolution, because))
    return out


def _actor_id(resolution: Resolution) -> int | None:
    actor = resolution.actor
    return actor.id if actor is not None else None
