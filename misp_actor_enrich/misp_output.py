"""Answer -> misp_standard ``results``: galaxy tags, intrusion-set and victim objects, attributes.

What MISP does with each key is in ``shared/MISP_CONTRACT.md``; the rules kept here:
- never echo the input attribute: objects reference its uuid instead;
- always return an Attribute or an Object with a hit (a Tag-only answer is dropped by the UI);
- no top-level ``Tag`` for hover (MISP would show it as a "No result" row);
- uuid4 everywhere, fresh on every answer; ``to_ids`` false; no distribution;
- comments say the targeting is the actor's known history, not a claim about this event.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any, Iterable

from orjson import loads as _loads  # misp-modules' own JSON library; ~4x faster per request

from .answer import Answer, Finding
from .config import Settings
from .misp_format import MispObject, attribute
from .models import Source

MAX_ALIAS_ATTRIBUTES = 50
MAX_ALIASES = 200


def results(answer: Answer, settings: Settings, *, input_uuid: str | None, hover: bool) -> dict[str, Any]:
    """The ``{"results": {...}}`` body for one answer; ``{"results": {}}`` when nothing to say.

    The body for one (answer, settings, hover) is built and checked once, and kept
    as JSON cut at its uuids; each call joins the pieces with fresh uuid4s (and the
    input's uuid) and parses the result, so no two answers share an object or a uuid.
    """
    if not answer.findings:
        return {"results": {}}
    key = (answer.resolution, settings, input_uuid is not None, hover)
    template = _rendered.get(key)
    if template is None:
        body = _render(answer, settings, hover, _INPUT_PLACEHOLDER if input_uuid else None)
        template = _Template.of(body)
        if len(_rendered) >= _RENDERED_LIMIT:
            _rendered.clear()  # crude bound; a race only renders twice
        _rendered[key] = template
    return {"results": template.stamp(input_uuid)}


_INPUT_PLACEHOLDER = "ffffffff-ffff-4fff-bfff-ffffffffffff"  # builders use 00000000-... placeholders
_RENDERED_LIMIT = 2048
_rendered: dict[tuple[Any, ...], "_Template"] = {}
# The builders' placeholder uuids and the input's, as they appear quoted in the JSON text.
_QUOTED_PLACEHOLDER = re.compile(r'"(00000000-0000-4000-8000-[0-9a-f]{12}|' + _INPUT_PLACEHOLDER + r')"')


class _Template:
    """A rendered body as JSON text split around its uuids: pieces[i], uuid slot[i], pieces[i+1] ..."""

    __slots__ = ("pieces", "slots", "fresh_count")

    def __init__(self, pieces: list[str], slots: list[int], fresh_count: int) -> None:
        self.pieces, self.slots, self.fresh_count = pieces, slots, fresh_count

    @classmethod
    def of(cls, body: dict[str, Any]) -> "_Template":
        text = json.dumps(body, ensure_ascii=False)
        slot_of: dict[str, int] = {}
        pieces: list[str] = []
        slots: list[int] = []
        last = 0
        for match in _QUOTED_PLACEHOLDER.finditer(text):
            found = match.group(1)
            slot = -1 if found == _INPUT_PLACEHOLDER else slot_of.setdefault(found, len(slot_of))
            pieces.append(text[last:match.start()])
            slots.append(slot)
            last = match.end()
        pieces.append(text[last:])
        return cls(pieces, slots, len(slot_of))

    def stamp(self, input_uuid: str | None) -> dict[str, Any]:
        fresh = _uuid4s(self.fresh_count)
        parts = [self.pieces[0]]
        for slot, piece in zip(self.slots, self.pieces[1:]):
            parts.append(f'"{input_uuid if slot < 0 else fresh[slot]}"')
            parts.append(piece)
        stamped: dict[str, Any] = _loads("".join(parts))
        return stamped


def _uuid4s(count: int) -> list[str]:
    """``count`` random version-4 uuids from one read of the OS random source."""
    raw = bytearray(os.urandom(16 * count))
    out = []
    for i in range(0, 16 * count, 16):
        raw[i + 6] = (raw[i + 6] & 0x0F) | 0x40   # version 4
        raw[i + 8] = (raw[i + 8] & 0x3F) | 0x80   # RFC 4122 variant
        h = raw[i:i + 16].hex()
        out.append(f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}")
    return out


def _render(answer: Answer, settings: Settings, hover: bool, input_uuid: str | None) -> dict[str, Any]:
    attributes: list[dict[str, Any]] = []
    objects: list[dict[str, Any]] = []
    for finding in answer.findings:
        _add_finding(attributes, objects, finding, answer, settings, input_uuid)
    body: dict[str, Any] = {}
    if attributes:
        body["Attribute"] = attributes
    if objects:
        body["Object"] = objects
    event_tags = [t for f in answer.findings for t in f.tags]
    if event_tags and not hover:
        body["Tag"] = [{"name": name} for name in dict.fromkeys(event_tags)]
    return body


def _add_finding(attributes: list[dict[str, Any]], objects: list[dict[str, Any]], finding: Finding,
                 answer: Answer, settings: Settings, input_uuid: str | None) -> None:
    actor = finding.candidate.actor
    query = answer.resolution.query
    intrusion_set = _intrusion_set(finding, answer)
    if input_uuid:
        intrusion_set.reference(input_uuid, "related-to")
    victim = _victim(finding) if finding.role == "resolved" or finding.tagged else None
    if victim is not None:
        intrusion_set.reference(victim.uuid, "targets")
    objects.append(intrusion_set.to_dict())
    if victim is not None:
        objects.append(victim.to_dict())
    if not finding.tagged:
        return
    if actor.name.casefold() != query.strip().casefold():
        attributes.append(attribute(
            "threat-actor", actor.name, category="Attribution", tags=finding.tags,
            comment=(f"Canonical MISP galaxy name for {query!r} "
                     f"({finding.candidate.tier.label} match on {finding.candidate.matched!r})")))
    if settings.include_aliases_as_attributes:
        skip = {query.strip().casefold(), actor.name.casefold()}
        for alias in [a for a in actor.aliases if a.casefold() not in skip][:MAX_ALIAS_ATTRIBUTES]:
            attributes.append(attribute(
                "threat-actor", alias, category="Attribution",
                comment=f"Alias of {actor.name} in MISP galaxies, added so events naming it differently correlate"))
    for url in _references(finding, settings.max_links):
        attributes.append(attribute("link", url, category="External analysis",
                                    comment=f"Reference on {actor.name} from MISP galaxies"))


def _intrusion_set(finding: Finding, answer: Answer) -> MispObject:
    actor = finding.candidate.actor
    obj = MispObject("intrusion-set", comment=_object_comment(finding, answer))
    obj.add("name", actor.name, tags=finding.tags)
    for alias in actor.aliases[:MAX_ALIASES]:
        obj.add("aliases", alias)
    description = next((c.description for c in actor.clusters if c.description), "")
    if description:
        obj.add("description", description, disable_correlation=True)
    targeting = finding.targeting
    for item in (*targeting.incident_types, *targeting.motives):
        obj.add("goals", item.value, comment=_provenance(item.sources))
    return obj


def _object_comment(finding: Finding, answer: Answer) -> str:
    actor = finding.candidate.actor
    cand = finding.candidate
    resolution = answer.resolution
    galaxies = ", ".join(f"{c.galaxy} {c.value!r}" for c in actor.clusters)
    parts = [f"Known history of {actor.name} from MISP galaxies ({galaxies}); not a claim about this event."]
    if actor.reached:
        parts.append("Filed under " + ", ".join(f"{c.galaxy} {c.value!r}" for c in actor.reached) + ".")
    if finding.role == "resolved":
        parts.append(f"{resolution.query!r} matched {cand.matched!r} ({cand.tier.label}).")
    elif finding.role == "candidate":
        parts.append(f"Ambiguous: {resolution.reason}. "
                     + ("Tagged because tag_ambiguous is set." if finding.tagged else "Not tagged: pick the right actor."))
    else:
        parts.append(f"Suggestion for {resolution.query!r}: {cand.matched!r} (score {cand.score:.2f}). "
                     + ("Tagged: score is above tag_suggestions_above." if finding.tagged else "Not tagged."))
    targeting = finding.targeting
    for label, items in (("Suspected sponsor", targeting.sponsors), ("Origin", targeting.origins)):
        if items:
            parts.append(f"{label}: " + ", ".join(i.value for i in items) + ".")
    return " ".join(parts)


def _victim(finding: Finding) -> MispObject | None:
    targeting = finding.targeting
    if not targeting.victims:
        return None
    actor = finding.candidate.actor
    obj = MispObject("victim", comment=(
        f"Known targeting of {actor.name} from MISP galaxies: the actor's history, not this "
        f"event's victims. Items read from a cluster description say so in their comment."))
    for relation, items in (("regions", (*targeting.countries, *targeting.regions)),
                            ("sectors", targeting.sectors), ("name", targeting.organisations)):
        for item in items:
            tags = (item.galaxy_tag,) if item.galaxy_tag else ()
            obj.add(relation, item.value, comment=_provenance(item.sources), tags=tags)
    return obj


def _provenance(sources: Iterable[Source]) -> str:
    said = [f"{s.galaxy} {s.cluster!r} ({'description' if s.from_description else s.field})" for s in sources]
    return "From " + "; ".join(dict.fromkeys(said))


def _references(finding: Finding, limit: int) -> list[str]:
    urls: list[str] = []
    for cluster in finding.candidate.actor.clusters:
        for ref in cluster.refs:
            if ref.startswith(("http://", "https://")) and ref not in urls:
                urls.append(ref)
    return urls[:limit]
