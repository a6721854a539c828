"""Answer -> misp_standard ``results``: galaxy tags, intrusion-set and victim objects, attributes.

What MISP does with each key is in ``shared/MISP_CONTRACT.md``; the rules kept here:
- never echo the input attribute: objects reference its uuid instead;
- always return an Attribute or an Object with a hit (a Tag-only answer is dropped by the UI);
- no top-level ``Tag`` for hover (MISP would show it as a "No result" row);
- uuid4 everywhere, fresh on every answer; ``to_ids`` false; no distribution;
- comments say the targeting is the actor's known history, not a claim about this event.
"""

from __future__ import annotations

import os
from typing import Any, Iterable, Sequence

from ..core.answer import Answer, Finding
from ..core.models import Cluster, Source, Tier
from ..core.settings import Settings
from .builders import MispObject, attribute

MAX_ALIAS_ATTRIBUTES = 50
MAX_ALIASES = 200


def results(answer: Answer, settings: Settings, *, input_uuid: str | None, hover: bool) -> dict[str, Any]:
    """The ``{"results": {...}}`` body for one answer; ``{"results": {}}`` when nothing to say.

    The body for one (answer, settings, hover) is built and checked once, and kept;
    each call gets a copy with fresh uuid4s and the input's uuid, so no two answers
    share a uuid (MISP requires them unique across events).
    """
    if not answer.findings:
        return {"results": {}}
    # Everything the body depends on: the resolution, what policy made of it, settings, path.
    decisions = tuple((f.role, f.tags) for f in answer.findings)
    key = (answer.resolution, decisions, settings, input_uuid is not None, hover)
    template = _rendered.get(key)
    if template is None:
        body = _render([(answer, None)], settings, hover, _INPUT_PLACEHOLDER if input_uuid else None)
        template = _Template(body)
        if len(_rendered) >= _RENDERED_LIMIT:
            _rendered.clear()  # crude bound; a race only renders twice
        _rendered[key] = template
    return {"results": template.stamp(input_uuid)}


_INPUT_PLACEHOLDER = "ffffffff-ffff-4fff-bfff-ffffffffffff"  # builders use 00000000-... placeholders
_RENDERED_LIMIT = 2048
_rendered: dict[tuple[Any, ...], "_Template"] = {}


class _Template:
    """A rendered body with placeholder uuids; ``stamp`` copies it with fresh ones.

    The copy is shallow where nothing changes (strings are shared) and new wherever
    a uuid or a mutable list lives, so callers may edit what they get.
    """

    __slots__ = ("body", "slot_of")

    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body
        self.slot_of: dict[str, int] = {}
        for entity in (*body.get("Attribute", ()), *body.get("Object", ())):
            self.slot_of.setdefault(entity["uuid"], len(self.slot_of))
            for inner in (*entity.get("Attribute", ()), *entity.get("ObjectReference", ())):
                self.slot_of.setdefault(inner["uuid"], len(self.slot_of))

    def stamp(self, input_uuid: str | None) -> dict[str, Any]:
        fresh = _uuid4s(len(self.slot_of))
        new = {old: fresh[slot] for old, slot in self.slot_of.items()}
        if input_uuid:
            new[_INPUT_PLACEHOLDER] = input_uuid

        def attribute_copy(a: dict[str, Any]) -> dict[str, Any]:
            copied = {**a, "uuid": new[a["uuid"]]}
            if "Tag" in a:
                copied["Tag"] = [dict(t) for t in a["Tag"]]
            return copied

        def object_copy(o: dict[str, Any]) -> dict[str, Any]:
            copied = {**o, "uuid": new[o["uuid"]], "Attribute": [attribute_copy(a) for a in o["Attribute"]]}
            if "ObjectReference" in o:
                copied["ObjectReference"] = [
                    {**r, "uuid": new[r["uuid"]], "object_uuid": new[r["object_uuid"]],
                     "referenced_uuid": new[r["referenced_uuid"]]}
                    for r in o["ObjectReference"]]
            return copied

        body = self.body
        out: dict[str, Any] = {}
        if "Attribute" in body:
            out["Attribute"] = [attribute_copy(a) for a in body["Attribute"]]
        if "Object" in body:
            out["Object"] = [object_copy(o) for o in body["Object"]]
        if "Tag" in body:
            out["Tag"] = [dict(t) for t in body["Tag"]]
        return out


def _uuid4s(count: int) -> list[str]:
    """``count`` random version-4 uuids from one read of the OS random source."""
    h = os.urandom(16 * count).hex()
    return [f"{h[i:i + 8]}-{h[i + 8:i + 12]}-4{h[i + 13:i + 16]}-{_VARIANT[h[i + 16]]}{h[i + 17:i + 20]}-{h[i + 20:i + 32]}"
            for i in range(0, 32 * count, 32)]


_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}  # RFC 4122 variant nibble


def text_results(found: Sequence[tuple[Answer, str]], settings: Settings, *, input_uuid: str | None) -> dict[str, Any]:
    """One body for the actors a free text names; each comes with the snippet it was found in.

    Not cached: a text is rarely sent twice, and the snippets make every body unique.
    """
    if not any(a.findings for a, _ in found):
        return {"results": {}}
    body = _render(found, settings, False, _INPUT_PLACEHOLDER if input_uuid else None)
    return {"results": _Template(body).stamp(input_uuid)}


def _render(answers: Sequence[tuple[Answer, str | None]], settings: Settings, hover: bool,
            input_uuid: str | None) -> dict[str, Any]:
    attributes: list[dict[str, Any]] = []
    objects: list[dict[str, Any]] = []
    for answer, found_in in answers:
        for finding in answer.findings:
            _add_finding(attributes, objects, finding, answer, settings, input_uuid, found_in)
    body: dict[str, Any] = {}
    if attributes:
        body["Attribute"] = attributes
    if objects:
        body["Object"] = objects
    event_tags = [t for answer, _ in answers for f in answer.findings for t in f.tags]
    if event_tags and not hover:
        body["Tag"] = [{"name": name} for name in dict.fromkeys(event_tags)]
    return body


def _add_finding(attributes: list[dict[str, Any]], objects: list[dict[str, Any]], finding: Finding,
                 answer: Answer, settings: Settings, input_uuid: str | None, found_in: str | None) -> None:
    """Objects and attributes for one actor; ``found_in`` is the snippet when the input was free text."""
    actor = finding.candidate.actor
    query = answer.resolution.query
    intrusion_set = _intrusion_set(finding, answer, found_in)
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
    if found_in is not None:
        attributes.append(attribute(
            "threat-actor", actor.name, category="Attribution", tags=finding.tags,
            comment=f"Named in the text: {found_in}"))
    elif actor.name.casefold() != query.strip().casefold():
        attributes.append(attribute(
            "threat-actor", actor.name, category="Attribution", tags=finding.tags,
            comment=f"Canonical MISP galaxy name: {_how_matched(query, finding)}"))
    if settings.include_aliases_as_attributes:
        skip = {query.strip().casefold(), actor.name.casefold()}
        for alias in [a for a in actor.aliases if a.casefold() not in skip][:MAX_ALIAS_ATTRIBUTES]:
            attributes.append(attribute(
                "threat-actor", alias, category="Attribution",
                comment=f"Alias of {actor.name} in MISP galaxies, added so events naming it differently correlate"))
    for url in _references(finding, settings.max_links):
        attributes.append(attribute("link", url, category="External analysis",
                                    comment=f"Reference on {actor.name} from MISP galaxies"))


def _intrusion_set(finding: Finding, answer: Answer, found_in: str | None) -> MispObject:
    actor = finding.candidate.actor
    comment = _object_comment(finding, answer)
    if found_in is not None:
        comment += f" Found in the text: {found_in}"
    obj = MispObject("intrusion-set", comment=comment)
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
    if actor.duplicates:
        parts.append(_duplicates_note(actor.clusters, actor.duplicates))
    if actor.reached:
        parts.append("Filed under " + ", ".join(f"{c.galaxy} {c.value!r}" for c in actor.reached) + ".")
    if finding.role == "resolved":
        parts.append(_how_matched(resolution.query, finding) + ".")
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


def _duplicates_note(clusters: Sequence[Cluster], duplicates: Sequence[Cluster]) -> str:
    """Which galaxies file this actor more than once, and under which names."""
    said = []
    for galaxy in dict.fromkeys(c.galaxy for c in duplicates):
        values = [c.value for c in clusters if c.galaxy == galaxy]
        said.append(f"{galaxy} as {', '.join(repr(v) for v in values)}")
    return ("The same actor is filed more than once in " + "; ".join(said)
            + " (the first is the primary cluster; each one is tagged).")


def _how_matched(query: str, finding: Finding) -> str:
    cand = finding.candidate
    if cand.tier is Tier.TAGGED:
        return f"the attribute {query!r} is already tagged {cand.matched}, the analyst's choice of {cand.actor.name}"
    if cand.matched.casefold() == query.strip().casefold():
        kind = "a listed synonym" if cand.tier is Tier.SYNONYM else "a cluster name"
        return f"{query!r} is {kind} of {cand.actor.name}"
    return f"{query!r} matched {cand.matched!r} of {cand.actor.name} ({cand.tier.label} match)"


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
