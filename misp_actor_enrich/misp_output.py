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

import uuid
from typing import Any, Iterable

from pymisp import AbstractMISP, MISPAttribute, MISPEvent, MISPObject

from .answer import Answer, Finding
from .config import Settings
from .models import Source

MAX_ALIAS_ATTRIBUTES = 50
MAX_ALIASES = 200


def results(answer: Answer, settings: Settings, *, input_uuid: str | None, hover: bool) -> dict[str, Any]:
    """The ``{"results": {...}}`` body for one answer; ``{"results": {}}`` when nothing to say.

    The body for one (answer, settings, hover) is built through PyMISP once and kept;
    each call gets a copy stamped with fresh uuid4s and the input's uuid, so an answer
    is never shared and uuids never repeat across events.
    """
    if not answer.findings:
        return {"results": {}}
    key = (answer.resolution, settings, input_uuid is not None, hover)
    body = _rendered.get(key)
    if body is None:
        body = _render(answer, settings, hover, _INPUT_PLACEHOLDER if input_uuid else None)
        if len(_rendered) >= _RENDERED_LIMIT:
            _rendered.clear()  # crude bound; a race only renders twice
        _rendered[key] = body
    return {"results": _stamp(body, input_uuid)}


_INPUT_PLACEHOLDER = "00000000-0000-4000-8000-00000000f00d"
_RENDERED_LIMIT = 2048
_rendered: dict[tuple[Any, ...], dict[str, Any]] = {}
_UUID_KEYS = frozenset({"uuid", "object_uuid", "referenced_uuid"})


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


def _stamp(body: dict[str, Any], input_uuid: str | None) -> dict[str, Any]:
    """A deep copy with every uuid replaced by a fresh uuid4, references kept consistent."""
    fresh: dict[str, str] = {}

    def renew(old: str) -> str:
        if old == _INPUT_PLACEHOLDER and input_uuid:
            return input_uuid
        new = fresh.get(old)
        if new is None:
            new = fresh[old] = str(uuid.uuid4())
        return new

    def copy(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: renew(v) if k in _UUID_KEYS else copy(v) for k, v in value.items()}
        if isinstance(value, list):
            return [copy(v) for v in value]
        return value

    stamped: dict[str, Any] = copy(body)
    return stamped


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
