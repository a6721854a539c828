"""A ransomware operation's own fields in an answer: who runs it, its leak sites, notes and extensions.

``results`` renders every actor the same way; for an identity holding ransomware clusters it adds
what the ransomware galaxy says that helps an analyst: up to a few leak sites (``link``), ransom note
file names (``filename``) and encrypted-file extensions (``filename-pattern``), as the galaxy writes
them, within what the rest of the actor's answer leaves of the budget; and, in the intrusion-set's
comment, the operators the galaxies name (tagged with it) or the operations an actor runs (said only:
a ransomware-as-a-service brand is not one crew, its own answer tags it). Everything depends on the
actor and the settings only, like the rest of an actor's content.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from ..core.models import Actor
from .builders import attribute

# What one actor adds by default (README "What one enrichment adds"), the links aside: an operation's
# own fields fill what the rest of it leaves, so no actor adds more than 31 + max_links.
SUMMARY_BUDGET = 31
_NOTE_FIELDS = ("ransomnotes-filenames", "ransomnotes-files", "ransomnotes-filesnames", "ransomenotes-files")
_EXTENSION_FIELDS = ("extensions", "extension")
_EXTENSION = re.compile(r"^\.?[\w.-]*\w$")                 # ".lockbit", ".id-7ES6.cry"; not "4 random characters"
_FILE_NAME = re.compile(r"^[^<>\[\]{}*%\\/|?]{1,100}\.\w{2,5}$")  # "Restore-My-Files.txt"; not "<ID>.bmp"


def operation_notes(actor: Actor, *, tagged: bool) -> list[str]:
    """Who the galaxies say runs this operation, or which operations this actor runs."""
    notes = []
    if actor.operators:
        notes.append("Operated by " + ", ".join(f"{c.galaxy} {c.value!r}" for c in actor.operators)
                     + (", which the galaxies say run it (tagged too)." if tagged else ", which the galaxies say run it."))
    if actor.operates:
        notes.append("Runs the ransomware " + ", ".join(repr(c.value) for c in actor.operates)
                     + " (its own answer tags it).")
    return notes


def operation_fields(actor: Actor, *, per_kind: int, room: int,
                     referenced: set[str]) -> tuple[list[dict[str, Any]], list[tuple[str, int, int]]]:
    """The operation's leak sites, ransom note names and extensions (at most ``per_kind`` of each, ``room``
    in all; ``referenced``: URLs the answer links already), and (label, shown, total) per kind."""
    clusters = actor.ransomware
    name = actor.name
    kinds: tuple[tuple[str, list[str], Callable[[str], dict[str, Any]]], ...] = (
        ("leak sites", [u for c in clusters for u in c.meta.get("links", ()) if u.startswith(("http://", "https://"))],
         lambda v: attribute("link", v, category="External analysis",
                             comment=f"{name}'s leak site in MISP's ransomware galaxy")),
        ("ransom note names", [n for c in clusters for f in _NOTE_FIELDS for n in c.meta.get(f, ()) if _FILE_NAME.match(n)],
         lambda v: attribute("filename", v, category="Artifacts dropped", disable_correlation=True,
                             comment=f"{name}'s ransom note name in MISP's ransomware galaxy; not seen in this event")),
        ("file extensions", [e for c in clusters for f in _EXTENSION_FIELDS for e in c.meta.get(f, ())
                             if _EXTENSION.match(e.strip())],
         lambda v: attribute("filename-pattern", "*" + v if v.startswith(".") else "*." + v,
                             category="Artifacts dropped", disable_correlation=True,
                             comment=f"{name}'s encrypted-file extension in MISP's ransomware galaxy; not seen in this event")),
    )
    out: list[dict[str, Any]] = []
    shown: list[tuple[str, int, int]] = []
    for label, values, make in kinds:
        distinct = list(dict.fromkeys(v.strip() for v in values if v.strip() not in referenced))
        if label == "leak sites":               # one per site: "…onion/" and "…onion/n" are one leak site
            hosts: dict[str, str] = {}
            for url in distinct:
                hosts.setdefault(_host(url), url)
            distinct = list(hosts.values())
        cap = max(0, min(per_kind, room - len(out)))
        out.extend(make(v) for v in distinct[:cap])
        shown.append((label, cap, len(distinct)))
    return out, shown


def _host(url: str) -> str:
    return url.split("//", 1)[-1].split("/", 1)[0].casefold()
