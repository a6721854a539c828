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
from dataclasses import dataclass
from typing import Any, Sequence

from ..core.answer import Answer, Finding
from ..core.models import Cluster, TargetItem, Tier
from ..core.names import normalise
from ..core.settings import Settings
from .builders import MispObject, attribute
from .operation import SUMMARY_BUDGET, operation_fields, operation_notes

MAX_ALIAS_ATTRIBUTES = 50
MAX_ALIASES = 200


def results(answer: Answer, settings: Settings, *, input_uuid: str | None, hover: bool,
            notices: tuple[str, ...] = ()) -> dict[str, Any]:
    """The ``{"results": {...}}`` body for one answer; ``{"results": {}}`` when nothing to say.

    The body for one (answer, settings, hover) is built and checked once, and kept;
    each call gets a copy with fresh uuid4s and the input's uuid, so no two answers
    share a uuid (MISP requires them unique across events). A hover answer is only
    shown, never saved: it references no input and is stamped once, then reused.
    """
    if not answer.findings:
        return {"results": {}}
    if hover:
        input_uuid = None
    # Everything the body depends on: the resolution, what policy made of it, settings, path.
    decisions = tuple((f.role, f.tags) for f in answer.findings)
    key = (answer.resolution, decisions, settings, input_uuid is not None, hover, notices)
    template = _rendered.get(key)
    if template is None:
        body = _render([(answer, None)], settings, hover, _INPUT_PLACEHOLDER if input_uuid else None, notices)
        template = _Template(body)
        if len(_rendered) >= _RENDERED_LIMIT:
            _rendered.clear()  # crude bound; a race only renders twice
        _rendered[key] = template
    if hover:
        return {"results": template.shown()}
    return {"results": template.stamp(input_uuid)}


_INPUT_PLACEHOLDER = "ffffffff-ffff-4fff-bfff-ffffffffffff"  # builders use 00000000-... placeholders
_RENDERED_LIMIT = 2048
_rendered: dict[tuple[Any, ...], "_Template"] = {}


class _Template:
    """A rendered body with placeholder uuids; ``stamp`` copies it with fresh ones.

    The copy is new wherever a uuid lives (attributes, objects, references) and shares
    the rest (strings, tag lists): treat a stamped body as read-only, as misp-modules does
    (it only serialises it).
    """

    __slots__ = ("body", "slot_of", "_shown")

    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body
        self._shown: dict[str, Any] | None = None
        self.slot_of: dict[str, int] = {}
        for entity in (*body.get("Attribute", ()), *body.get("Object", ())):
            self.slot_of.setdefault(entity["uuid"], len(self.slot_of))
            for inner in entity.get("Attribute", ()):
                self.slot_of.setdefault(inner["uuid"], len(self.slot_of))

    def shown(self) -> dict[str, Any]:
        """One stamped copy, kept: for answers MISP only displays (hover)."""
        if self._shown is None:
            self._shown = self.stamp(None)     # a race only stamps twice
        return self._shown

    def stamp(self, input_uuid: str | None) -> dict[str, Any]:
        fresh = _uuid4s(len(self.slot_of))
        new = {old: fresh[slot] for old, slot in self.slot_of.items()}
        if input_uuid:
            new[_INPUT_PLACEHOLDER] = input_uuid

        def attribute_copy(a: dict[str, Any]) -> dict[str, Any]:
            return {**a, "uuid": new[a["uuid"]]}

        def object_copy(o: dict[str, Any]) -> dict[str, Any]:
            copied = {**o, "uuid": new[o["uuid"]], "Attribute": [attribute_copy(a) for a in o["Attribute"]]}
            if "ObjectReference" in o:
                copied["ObjectReference"] = [
                    {**r, "object_uuid": new[r["object_uuid"]], "referenced_uuid": new[r["referenced_uuid"]]}
                    for r in o["ObjectReference"]]
            return copied

        body = self.body
        out: dict[str, Any] = {}
        if "Attribute" in body:
            out["Attribute"] = [attribute_copy(a) for a in body["Attribute"]]
        if "Object" in body:
            out["Object"] = [object_copy(o) for o in body["Object"]]
        if "Tag" in body:
            out["Tag"] = body["Tag"]
        return out


def _uuid4s(count: int) -> list[str]:
    """``count`` random version-4 uuids from one read of the OS random source."""
    h = os.urandom(16 * count).hex()
    return [f"{h[i:i + 8]}-{h[i + 8:i + 12]}-4{h[i + 13:i + 16]}-{_VARIANT[h[i + 16]]}{h[i + 17:i + 20]}-{h[i + 20:i + 32]}"
            for i in range(0, 32 * count, 32)]


_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}  # RFC 4122 variant nibble


def text_results(found: Sequence[tuple[Answer, str]], settings: Settings, *, input_uuid: str | None,
                 notices: tuple[str, ...] = ()) -> dict[str, Any]:
    """One body for the actors a free text names; each comes with the snippet it was found in.

    Not cached: a text is rarely sent twice, and the snippets make every body unique.
    """
    if not any(a.findings for a, _ in found):
        return {"results": {}}
    body = _render(found, settings, False, _INPUT_PLACEHOLDER if input_uuid else None, notices)
    return {"results": _Template(body).stamp(input_uuid)}


@dataclass(frozen=True, slots=True)
class Detail:
    """How much one answer carries: caps per actor and on the actors given objects.

    An actor's content depends only on the actor and these caps, never on what else the answer
    holds: a later run on the canonical attribute then yields the same objects, which MISP
    reuses, so a second enrichEvent or workflow run changes nothing.
    """

    actors: int          # actors given objects and attributes; the others get their galaxy tags only
    aliases: int
    candidate_aliases: int
    places: int          # countries and regions
    sectors: int
    organisations: int
    goals: int
    complete: bool          # every spelling and every cluster and field, as the galaxies give them
    # A ransomware operation's own fields, of each kind: leak sites, ransom note names, file extensions.
    operation_fields: int = 2


DETAILS = {
    # The default: one actor in at most 34 attributes (with the default max_links of 3), the
    # best-supported and best-attested first; README "What one enrichment adds" says why.
    "summary": Detail(actors=5, aliases=8, candidate_aliases=5, places=8, sectors=6, organisations=3, goals=3,
                      complete=False),
    # Everything the galaxies say, still bounded whatever the data.
    "full": Detail(actors=50, aliases=MAX_ALIASES, candidate_aliases=MAX_ALIASES, places=500, sectors=500,
                   organisations=500, goals=50, complete=True, operation_fields=20),
}


def _render(answers: Sequence[tuple[Answer, str | None]], settings: Settings, hover: bool,
            input_uuid: str | None, notices: tuple[str, ...] = ()) -> dict[str, Any]:
    """Objects and attributes for each finding (the first ``detail.actors``), galaxy tags for all.

    ``notices``: sentences every intrusion-set's comment must carry (a site file to fix, a text read in part).
    """
    detail = DETAILS[settings.detail]
    findings = [(finding, answer, found_in) for answer, found_in in answers for finding in answer.findings]
    shown, beyond = findings[: detail.actors], findings[detail.actors:]
    attributes: list[dict[str, Any]] = []
    objects: list[dict[str, Any]] = []
    for i, (finding, answer, found_in) in enumerate(shown):
        note = ""
        if beyond and i == len(shown) - 1:
            others = list(dict.fromkeys(f.candidate.actor.name for f, _, _ in beyond))
            names = ", ".join(others[:20]) + (f" and {len(others) - 20} more" if len(others) > 20 else "")
            note = (f" {len(beyond)} more actor{'s' if len(beyond) != 1 else ''} named ({names}): only their galaxy "
                    f"tags are in this answer{'; set the detail setting to full for more' if settings.detail == 'summary' else ''}.")
        for notice in notices:
            note += " " + notice
        _add_actor(attributes, objects, finding, answer, found_in, settings, detail, input_uuid, note)
    body: dict[str, Any] = {}
    if attributes:
        body["Attribute"] = attributes
    if objects:
        body["Object"] = objects
    event_tags = [t for finding, _, _ in findings for t in finding.tags]
    if event_tags and not hover:
        body["Tag"] = [{"name": name} for name in dict.fromkeys(event_tags)]
    return body


def _add_actor(attributes: list[dict[str, Any]], objects: list[dict[str, Any]], finding: Finding, answer: Answer,
               found_in: str | None, settings: Settings, detail: Detail, input_uuid: str | None, note: str) -> None:
    """One actor: its intrusion-set (name, description, best-attested aliases, goals), its victim
    object (best-supported targets), its canonical attribute and reference links."""
    actor = finding.candidate.actor
    cut: list[str] = []
    first = len(attributes)
    intrusion_set = MispObject("intrusion-set")
    intrusion_set.add("name", actor.name, tags=finding.tags)
    if input_uuid:
        intrusion_set.reference(input_uuid, "related-to")
    if _canonical_needed(finding, answer, found_in):
        canonical = _canonical(finding, answer, found_in)
        attributes.append(canonical)
        # The object names its canonical attribute too: a later run on that attribute then finds
        # every reference in place.
        intrusion_set.reference(canonical["uuid"], "related-to")
    description = next((c.description for c in actor.clusters if c.description), "")
    if description:
        intrusion_set.add("description", description, disable_correlation=True)
    aliases = _attested_aliases(finding, detail)
    cap = detail.aliases if finding.tagged or finding.role == "resolved" else detail.candidate_aliases
    for alias in aliases[:cap]:
        intrusion_set.add("aliases", alias)
    _note_cut(cut, "aliases", cap, len(aliases))
    victim = None
    if finding.role == "resolved" or finding.tagged:
        targeting = finding.targeting
        goals = (*targeting.incident_types, *targeting.motives)
        for item in goals[: detail.goals]:
            intrusion_set.add("goals", item.value, comment=_provenance(item, detail))
        _note_cut(cut, "goals", detail.goals, len(goals))
        victim = _victim(finding, detail, cut)
        if victim is not None:
            intrusion_set.reference(victim.uuid, "targets")
    fields: list[dict[str, Any]] = []
    if finding.tagged and actor.ransomware:
        used = len(attributes) - first + len(intrusion_set.attributes) + (len(victim.attributes) if victim else 0)
        references = _references(finding, settings.max_links)
        room = (3 * detail.operation_fields if detail.complete
                else SUMMARY_BUDGET + settings.max_links - used - len(references))
        fields, shown = operation_fields(actor, per_kind=detail.operation_fields, room=room, referenced=set(references))
        for label, cap, total in shown:
            _note_cut(cut, label, cap, total)
    comment = _object_comment(finding, answer, detail)
    if cut:
        comment += (f" Shows the best {', '.join(cut)}; set actor_enrich's detail to full for all."
                    if settings.detail == "summary" else f" Shows {', '.join(cut)} (the answer is bounded).")
    if found_in is not None:
        comment += f" Found in the text: {found_in}"
    intrusion_set.comment = comment + note
    objects.append(intrusion_set.to_dict())
    if victim is not None:
        objects.append(victim.to_dict())
    if not finding.tagged:
        return
    if settings.include_aliases_as_attributes:
        attributes.extend(_alias_attributes(finding, answer, aliases))
    for url in _references(finding, settings.max_links):
        attributes.append(attribute("link", url, category="External analysis",
                                    comment=f"Reference on {actor.name} from MISP galaxies"))
    attributes.extend(fields)


def _canonical_needed(finding: Finding, answer: Answer, found_in: str | None) -> bool:
    """A tagged actor gets a canonical attribute when the input did not already name it so."""
    if not finding.tagged:
        return False
    name = finding.candidate.actor.name.casefold()
    return found_in is not None or name != answer.resolution.query.strip().casefold()


def _canonical(finding: Finding, answer: Answer, found_in: str | None) -> dict[str, Any]:
    actor = finding.candidate.actor
    comment = (f"Named in the text: {found_in}" if found_in is not None
               else f"Canonical MISP galaxy name: {_how_matched(answer.resolution.query, finding)}")
    return attribute("threat-actor", actor.name, category="Attribution", tags=finding.tags, comment=comment)


def _victim(finding: Finding, detail: Detail, cut: list[str]) -> MispObject | None:
    """The actor's best-supported targets: most independent sources first."""
    targeting = finding.targeting
    if not targeting.victims and not targeting.domestic:
        return None
    victim = MispObject("victim", comment=(
        f"Known targeting of {finding.candidate.actor.name} from MISP galaxies: the actor's history, not this "
        f"event's victims. The best-supported come first; items read from a cluster description say so in "
        f"their comment."))
    sections = (
        ("regions", "places", _ranked((*targeting.countries, *targeting.regions, *targeting.domestic)), detail.places),
        ("sectors", "sectors", _ranked(targeting.sectors), detail.sectors),
        ("name", "named victims", _ranked(targeting.organisations), detail.organisations),
    )
    for relation, label, items, cap in sections:
        for item in items[:cap]:
            tags = (item.galaxy_tag,) if item.galaxy_tag else ()
            at_home = "At home (the actor's own country): " if item in targeting.domestic else ""
            victim.add(relation, item.value, comment=at_home + _provenance(item, detail), tags=tags)
        _note_cut(cut, label, cap, len(items))
    return victim


def _ranked(items: Sequence[TargetItem]) -> list[TargetItem]:
    """Most independent sources first; structured before description-only; otherwise as the data says."""
    return sorted(items, key=lambda i: (-i.support, not i.structured))


def _attested_aliases(finding: Finding, detail: Detail) -> list[str]:
    """The actor's other names, those most clusters agree on first (then the data's order).

    A summary shows each name once: "Group 123" and "Group123", or "APT 37" beside APT37, are
    one name to a reader. Full detail keeps every spelling (MISP correlates exact values).
    """
    actor = finding.candidate.actor
    support: dict[str, int] = {}
    for cluster in actor.clusters:
        for key in {normalise(n) for n in (cluster.name, *cluster.synonyms)}:
            support[key] = support.get(key, 0) + 1
    aliases = sorted(actor.aliases[:MAX_ALIASES], key=lambda a: -support.get(normalise(a), 0))
    if detail.complete:
        return aliases
    seen = {normalise(actor.name)}
    distinct = []
    for alias in aliases:
        if normalise(alias) not in seen:
            seen.add(normalise(alias))
            distinct.append(alias)
    return distinct


def _alias_attributes(finding: Finding, answer: Answer, aliases: Sequence[str]) -> list[dict[str, Any]]:
    """Each alias as a threat-actor attribute, tagged like the actor so a later run resolves it
    by its tags (an alias alone may name another actor too) and changes nothing."""
    actor = finding.candidate.actor
    skip = {answer.resolution.query.strip().casefold(), actor.name.casefold()}
    return [attribute("threat-actor", alias, category="Attribution", tags=finding.tags,
                      comment=f"Alias of {actor.name} in MISP galaxies, added so events naming it differently correlate")
            for alias in [a for a in aliases if a.casefold() not in skip][:MAX_ALIAS_ATTRIBUTES]]


def _note_cut(cut: list[str], label: str, cap: int, total: int) -> None:
    if total > cap:
        cut.append(f"{cap} of {total} {label}")


def _object_comment(finding: Finding, answer: Answer, detail: Detail) -> str:
    actor = finding.candidate.actor
    cand = finding.candidate
    resolution = answer.resolution
    # A tagged actor's clusters are in MISP's Galaxies column already; a candidate's are not.
    galaxies = (" (" + ", ".join(f"{c.galaxy} {c.value!r}" for c in actor.clusters) + ")"
                if detail.complete or not finding.tagged else "")
    parts = [f"Known history of {actor.name} from MISP galaxies{galaxies}; not a claim about this event."]
    if actor.duplicates:
        parts.append(_duplicates_note(actor.clusters, actor.duplicates))
    if actor.reached:
        parts.append("Filed under " + ", ".join(f"{c.galaxy} {c.value!r}" for c in actor.reached) + ".")
    parts.extend(operation_notes(actor, tagged=finding.tagged))
    if finding.role == "resolved":
        parts.append(_how_matched(resolution.query, finding) + ".")
        if resolution.note:
            parts.append(resolution.note[0].upper() + resolution.note[1:] + ".")
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


def _provenance(item: TargetItem, detail: Detail) -> str:
    """Where an item comes from. In full: every galaxy, cluster and field, and the sentence a
    description said it in. In summary, short enough for MISP's narrow comment column: how many
    independent sources say it, from which galaxies, and which of those only in a description."""
    if detail.complete:
        said = [f"{s.galaxy} {s.cluster!r} (" + (f"description: {s.sentence}" if s.sentence else
                                                   "description" if s.from_description else s.field) + ")"
                for s in item.sources]
        return "From " + "; ".join(dict.fromkeys(said))
    described: dict[str, bool] = {}      # galaxy -> only its descriptions say it
    for source in item.sources:
        described[source.galaxy] = described.get(source.galaxy, True) and source.from_description
    count = item.support
    where = ", ".join(f"{galaxy} (description)" if only else galaxy for galaxy, only in described.items())
    return f"{count} source{'s' if count != 1 else ''}: {where}"


def _references(finding: Finding, limit: int) -> list[str]:
    urls: list[str] = []
    for cluster in finding.candidate.actor.clusters:
        for ref in cluster.refs:
            if ref.startswith(("http://", "https://")) and ref not in urls:
                urls.append(ref)
    return urls[:limit]
