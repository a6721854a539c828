"""Actor-name normalisation: the pure string functions behind every match tier.

``normalise`` gives the key two spellings share when they differ only in Unicode
width, case, spacing, invisible characters, punctuation or hyphens ("APT 37",
"apt-37" and "ＡＰＴ３７" all become "apt37"). ``qualifier_parts`` undoes what people
add around a name in a MISP attribute ("the Kimsuky group", "Turla (Russia)",
"Cozy Bear / APT29").
"""

from __future__ import annotations

import re
import unicodedata

# Leading words dropped at the qualifier tier ("the Lazarus group", "threat actor X").
_LEADING = ("the", "threat actor", "threat group", "apt group", "actor", "group")
_TRAILING = (
    "apt group", "threat actor", "threat group", "hacking group", "hacker group",
    "hackers", "group", "team", "gang", "crew", "actors", "actor", "operators", "apt",
)
# Separators people use to give two names for one actor.
_SEPARATORS = re.compile(r"\s+(?:/|\||;|aka|a\.k\.a\.?|alias|also known as)\s+|\s*[/|;]\s*|,\s+", re.IGNORECASE)
_PARENTHESISED = re.compile(r"[(\[{（［]([^)\]}）］]*)[)\]}）］]")
_SPACE = re.compile(r"\s+")
# "Operation Pawn Storm", "Op. Daybreak": a campaign filed under the actor that ran it.
_OPERATION = re.compile(r"^(?:operation|op\.?)\s+(?=\S)", re.IGNORECASE)
_NOT_ASCII_ALNUM = re.compile(r"[^a-z0-9]+")


def normalise(name: str) -> str:
    """The match key of a name: NFKC, case-folded, letters and digits only.

    Returns "" for a name with no letters or digits at all; such a name matches nothing.
    """
    if name.isascii():                  # most names: NFKC and casefold change nothing but case
        return _NOT_ASCII_ALNUM.sub("", name.lower())
    return _normalise_unicode(name)


def _normalise_unicode(name: str) -> str:
    folded = unicodedata.normalize("NFKC", name).casefold()
    return "".join(ch for ch in folded if ch.isalnum())


_GENERIC_KEYS = frozenset(normalise(w) for w in (*_LEADING, *_TRAILING))


def clean(name: str) -> str:
    """The name as written, with invisible characters removed and spacing collapsed."""
    if name.isascii():                  # no format characters, and NFC changes nothing
        return " ".join(name.split())
    return _clean_unicode(name)


def _clean_unicode(name: str) -> str:
    text = unicodedata.normalize("NFC", name)
    text = "".join(" " if ch.isspace() else ch for ch in text if unicodedata.category(ch) != "Cf")
    return _SPACE.sub(" ", text).strip()


def strip_generic(name: str) -> str:
    """Drop leading "the ..." and trailing generic words ("Group", "Team", "Gang" ...).

    Keeps the name when stripping would leave nothing but digits or fewer than three
    characters: "Group 123" and "APT 1" must stay themselves.
    """
    steps = generic_steps(name)
    return steps[-1] if steps else clean(name)


def generic_steps(name: str) -> tuple[str, ...]:
    """Each form ``strip_generic`` passes through, one word less each: "the Royal APT group" ->
    ("Royal APT group", "Royal APT", "Royal"); () when nothing is generic."""
    text = clean(name)
    steps: list[str] = []
    changed = True
    while changed:
        changed = False
        lowered = text.casefold()
        for word in _LEADING:
            if lowered.startswith(word + " ") and _substantial(text[len(word) + 1:]):
                text, changed = text[len(word) + 1:].lstrip(), True
                steps.append(text)
                break
        lowered = text.casefold()
        for word in _TRAILING:
            if lowered.endswith(" " + word) and _substantial(text[: -len(word) - 1]):
                text, changed = text[: -len(word) - 1].rstrip(" -_,."), True
                steps.append(text)
                break
    return tuple(steps)


def strip_operation(name: str) -> str:
    """Drop a leading "Operation" ("Operation Pawn Storm" -> "Pawn Storm"), like other qualifiers.

    Kept apart from ``strip_generic`` on purpose: the free-text scanner uses that one, and
    "Daybreak" alone in prose is no actor. The name stays whole when too little would remain.
    """
    text = clean(name)
    match = _OPERATION.match(text)
    if match and _substantial(text[match.end():]):
        return text[match.end():]
    return text


# What people add to a ransomware name: "LockBit ransomware", "LockBit 3.0", "Conti v2", "LockBit Black".
_RANSOMWARE_WORD = re.compile(r"[\s_-]+ransomware$", re.IGNORECASE)
_VERSION = re.compile(r"(?:[\s_-]*(?:v|ver\.?|version)?[\s_]*(\d+)(?:\.\d+)+|[\s_-]+(?:v|ver\.?|version)[\s_]*(\d+))$",
                      re.IGNORECASE)
# A product edition or platform build of one family: LockBit Black and LockBit Green are LockBit's.
_EDITION = re.compile(r"[\s_-]+(?:black|green|red|blue|linux|esxi|windows|vmware)$", re.IGNORECASE)


def strip_ransomware(name: str) -> str:
    """Drop a trailing "ransomware" ("Black Basta ransomware" -> "Black Basta"); whole when too little remains.

    Kept apart from ``strip_generic``: the word says which galaxy the name is meant in, so the
    alias index answers the shorter name from ransomware operations only.
    """
    text = clean(name)
    match = _RANSOMWARE_WORD.search(text)
    if match and _substantial(text[:match.start()]):
        return text[:match.start()]
    return text


def version_forms(name: str) -> tuple[str, ...]:
    """A version suffix, dropped: "LockBit 3.0" -> ("LockBit 3", "LockBit"); () without one.

    Only a dotted number ("3.0") or a "v"/"version" number counts: "APT 37" and "Group 123" are names.
    The major version comes first, as the ransomware galaxy files some versions apart ("Lockbit3").
    """
    text = clean(name)
    match = _VERSION.search(text)
    if not match or not _substantial(text[:match.start()]):
        return ()
    base = text[:match.start()].rstrip(" -_")
    major = match.group(1) or match.group(2)
    return (f"{base} {major}", base)


def strip_edition(name: str) -> str:
    """Drop a trailing edition or platform word ("LockBit Black" -> "LockBit"); whole when too little remains."""
    text = clean(name)
    match = _EDITION.search(text)
    if match and _substantial(text[:match.start()]) and len(normalise(text[:match.start()])) >= 4:
        return text[:match.start()]
    return text


def _substantial(rest: str) -> bool:
    key = normalise(rest)
    return len(key) >= 3 and not key.isdigit() and key not in _GENERIC_KEYS


def qualifier_parts(name: str) -> tuple[str, ...]:
    """The names inside a qualified attribute value, generic words dropped.

    "APT29 (Cozy Bear)" -> ("APT29", "Cozy Bear"); "Cozy Bear / APT29" -> ("Cozy Bear",
    "APT29"); "the Kimsuky group" -> ("Kimsuky",); "Turla (Russia)" -> ("Turla", "Russia").
    The caller decides what the parts mean together (they must agree on one actor).
    """
    return tuple(part for part, _ in qualifier_pieces(name))


def qualifier_pieces(name: str) -> tuple[tuple[str, str], ...]:
    """``qualifier_parts``, each with the piece it came from before generic words were dropped."""
    text = clean(name)
    inner = [m.group(1) for m in _PARENTHESISED.finditer(text)]
    outer = _PARENTHESISED.sub(" ", text)
    pieces = [*_SEPARATORS.split(outer), *inner]
    parts: dict[str, str] = {}
    for raw in pieces:
        piece = clean(raw.strip(" -_,.:\"'“”‘’"))
        part = strip_generic(piece)
        if normalise(part) and part not in parts:
            parts[part] = piece
    return tuple(parts.items())


def digits(key: str) -> str:
    """The digits of a key, in order: "apt37" -> "37". Near-miss suggestions must keep them."""
    return "".join(ch for ch in key if ch.isdigit())
