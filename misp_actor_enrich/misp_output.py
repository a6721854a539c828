"""Answer -> misp_standard ``results``: galaxy tags, intrusion-set and victim objects, attributes.

The only module that imports PyMISP. What MISP does with each key is in
``shared/MISP_CONTRACT.md``; the rules kept here:
- never echo the input attribute: objects reference its uuid instead;
- always return an Attribute or an Object with a hit (a Tag-only answer is dropped by the UI);
- no top-level ``Tag`` for hover (MISP would show it as a "No result" row);
- uuid4 everywhere (PyMISP's default), ``to_ids`` false, no distribution;
- comments say the targeting is the actor's known history, not a claim about this event.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any, Iterable

from orjson import loads as _loads  # misp-modules' own JSON library; ~4x faster per request
from pymisp import AbstractMISP, MISPAttribute, MISPEvent, MISPObject

from .answer import Answer, Finding
from .config import Settings
from .models import Source

MAX_ALIAS_ATTRIBUTES = 50
MAX_ALIASES = 200


def results(answer: Answer, settings: Settings, *, input_uuid: str | None, hover: bool) -> dict[str, Any]:
    """The ``{"results": {...}}`` body for one answer; ``{"results": {}}`` when nothing to say.

    The body for one (answer, settings, hover) is built through PyMISP once and kept
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


_INPUT_PLACEHOLDER = "00000000-0000-4000-8000-00000000f00d"
_RENDERED_LIMIT = 2048
_rendered: dict[tuple[Any, ...], "_Template"] = {}
_UUID_KEYS = frozenset({"uuid", "object_uuid", "referenced_uuid"})


class _Template:
    """A rendered body as JSON text split around its uuids: pieces[i], uuid slot[i], pieces[i+1] ..."""

    __slots__ = ("pieces", "slots", "fresh_count")

    def __init__(self, pieces: list[str], slots: list[int], fresh_count: int) -> None:
        self.pieces, self.slots, self.fresh_count = pieces, slots, fresh_count

    @classmethod
    def of(cls, body: dict[str, Any]) -> "_Template":
        slot_of: dict[str, int] = {_INPUT_PLACEHOLDER: -1}

        def collect(value: Any) -> None:
            if isinstance(value, dict):
                for k, v in value.items():
                    if k in _UUID_KEYS and isinstance(v, str):
                        slot_of.setdefault(v, len(slot_of) - 1)
                    else:
                        collect(v)
            elif isinstance(value, list):
                for v in value:
                    collect(v)

        collect(body)
        text = json.dumps(body, ensure_ascii=False)
        # uuids are random, so each quoted uuid in the text is one of ours.
        pattern = re.compile("|".join(re.escape(f'"{u}"') for u in slot_of))
        pieces: list[str] = []
        slots: list[int] = []
        last = 0
        for match in pattern.finditer(text):
            pieces.append(text[last:match.start()])
            slots.append(slot_of[match.group()[1:-1]])
            last = match.end()
        pieces.append(text[last:])
        return cls(pieces, slots, len(slot_of) - 1)

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
    event = MISPEvent()
    for finding in answer.findings:
        _add_finding(event, finding, answer, settings, input_uuid)
    body: dict[str, Any] = {}
    if event.attributes:
        body["Attribute"] = [_plain(a) for a in event.attributes]
    if event.objects:
        body["Object"] = [_plain(o) for o in event.objects]
    event_tags = [t for f in answer.findings for t in f.tags]
    if event_tags and not hover:
        body["Tag"] = [{"name": name} for name in dict.fromkeys(event_tags)]
    return body


def _add_finding(event: MISPEvent, finding: Finding, answer: Answer, settings: Settings,
                 input_uuid: str | None) -> None:
    actor = finding.candidate.actor
    query = answer.resolution.query
    intrusion_set = _intrusion_set(finding, answer)
    if input_uuid:
        intrusion_set.add_reference(input_uuid, "related-to")
    victim = _victim(finding) if finding.role == "resolved" or finding.tagged else None
    if victim is not None:
        intrusion_set.add_reference(victim.uuid, "targets")
    event.add_object(intrusion_set)
    if victim is not None:
        event.add_object(victim)
    if not finding.tagged:
        return
    if actor.name.casefold() != query.strip().casefold():
        canonical = _attribute(event, "threat-actor", actor.name, "Attribution",
                               f"Canonical MISP galaxy name for {query!r} "
                               f"({finding.candidate.tier.label} match on {finding.candidate.matched!r})")
        _tag(canonical, finding.tags)
    if settings.include_aliases_as_attributes:
        skip = {query.strip().casefold(), actor.name.casefold()}
        for alias in [a for a in actor.aliases if a.casefold() not in skip][:MAX_ALIAS_ATTRIBUTES]:
            _attribute(event, "threat-actor", alias, "Attribution",
                       f"Alias of {actor.name} in MISP galaxies, added so events naming it differently correlate")
    for url in _references(finding, settings.max_links):
        _attribute(event, "link", url, "External analysis", f"Reference on {actor.name} from MISP galaxies")


def _intrusion_set(finding: Finding, answer: Answer) -> MISPObject:
    actor = finding.candidate.actor
    obj = MISPObject("intrusion-set", strict=True, standalone=False)
    obj.comment = _object_comment(finding, answer)
    _member(obj, "name", actor.name, tags=finding.tags)
    for alias in actor.aliases[:MAX_ALIASES]:
        _member(obj, "aliases", alias)
    description = next((c.description for c in actor.clusters if c.description), "")
    if description:
        _member(obj, "description", description, disable_correlation=True)
    targeting = finding.targeting
    for item in (*targeting.incident_types, *targeting.motives):
        _member(obj, "goals", item.value, comment=_provenance(item.sources))
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


def _victim(finding: Finding) -> MISPObject | None:
    targeting = finding.targeting
    if not targeting.victims:
        return None
    actor = finding.candidate.actor
    obj = MISPObject("victim", strict=True, standalone=False)
    obj.comment = (f"Known targeting of {actor.name} from MISP galaxies: the actor's history, not this "
                   f"event's victims. Items read from a cluster description say so in their comment.")
    for relation, items in (("regions", (*targeting.countries, *targeting.regions)),
                            ("sectors", targeting.sectors), ("name", targeting.organisations)):
        for item in items:
            tags = (item.galaxy_tag,) if item.galaxy_tag else ()
            _member(obj, relation, item.value, comment=_provenance(item.sources), tags=tags)
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


def _attribute(event: MISPEvent, type_: str, value: str, category: str, comment: str) -> MISPAttribute:
    attribute = MISPAttribute()
    attribute.from_dict(type=type_, value=value, category=category, to_ids=False, comment=comment)
    event.attributes.append(attribute)
    return attribute


def _member(obj: MISPObject, relation: str, value: str, *, comment: str = "", tags: Iterable[str] = (),
            disable_correlation: bool = False) -> None:
    """Add one object attribute; strict templates reject relations the template lacks."""
    attribute = obj.add_attribute(relation, value=value, to_ids=False, comment=comment,
                                  disable_correlation=disable_correlation)
    if attribute is None:  # PyMISP skips empty values; ours never are
        raise ValueError(f"PyMISP refused {relation}={value!r}")
    _tag(attribute, tags)


def _tag(attribute: MISPAttribute, tags: Iterable[str]) -> None:
    for name in tags:
        attribute.add_tag(name)


def _plain(entity: MISPAttribute | MISPObject) -> dict[str, Any]:
    """A plain JSON-ready dict, without the keys MISP should default itself (distribution, sharing group)."""
    data: dict[str, Any] = _unwrap(entity.to_dict())
    _drop_sharing(data)
    return data


def _unwrap(value: Any) -> Any:
    # PyMISP's to_dict leaves nested tags, attributes and references as objects.
    if isinstance(value, AbstractMISP):
        return _unwrap(value.to_dict())
    if isinstance(value, dict):
        return {k: _unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap(v) for v in value]
    return value


def _drop_sharing(data: dict[str, Any]) -> None:
    for key in ("distribution", "sharing_group_id"):
        data.pop(key, None)
    for attribute in data.get("Attribute", ()):
        _drop_sharing(attribute)
