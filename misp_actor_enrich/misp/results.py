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
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from ..core.answer import Answer, Finding
from ..core.models import Source, TargetItem, Tier
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


@dataclass(frozen=True, slots=True)
class Detail:
    """How much one answer may carry: an attribute budget (standalone and object attributes
    together) and per-actor caps, so one actor's history never buries an event's indicators."""

    budget: int
    aliases: int
    places: int          # countries and regions
    sectors: int
    organisations: int
    goals: int


DETAILS = {
    # The default: what an analyst reads in MISP's event view without scrolling past the event.
    "summary": Detail(budget=50, aliases=10, places=10, sectors=8, organisations=3, goals=3),
    # Everything the galaxies say, still bounded: an answer is never unbounded, whatever the data.
    "full": Detail(budget=1000, aliases=MAX_ALIASES, places=500, sectors=500, organisations=500, goals=50),
}


class _Budget:
    def __init__(self, total: int) -> None:
        self.left = total

    def take(self, count: int = 1) -> bool:
        if self.left < count:
            return False
        self.left -= count
        return True


@dataclass(slots=True)
class _Entry:
    """One finding while its objects are being filled."""

    finding: Finding
    answer: Answer
    found_in: str | None
    intrusion_set: MispObject
    victim: MispObject | None = None
    cut: list[str] = field(default_factory=list)    # what the budget left out, said in the comment

    @property
    def shows_victims(self) -> bool:
        return self.finding.role == "resolved" or self.finding.tagged


def _render(answers: Sequence[tuple[Answer, str | None]], settings: Settings, hover: bool,
            input_uuid: str | None) -> dict[str, Any]:
    """The body for every finding, filled in priority order until the detail budget is spent.

    Passes, most important first: each actor's name with its galaxy tags (and the canonical
    attribute), its description, its best-supported targets, its best-attested aliases,
    goals, then links. A pass that runs out of budget leaves the rest out and the object
    comment says what was left out and that ``detail: full`` shows it.
    """
    detail = DETAILS[settings.detail]
    budget = _Budget(detail.budget)
    attributes: list[dict[str, Any]] = []
    entries: list[_Entry] = []
    omitted = 0
    for answer, found_in in answers:
        for finding in answer.findings:
            # Essentials: the intrusion-set with its name (and the canonical attribute when tagged).
            essentials = 1 + (1 if _canonical_needed(finding, answer, found_in) else 0)
            if not budget.take(essentials):
                omitted += 1
                continue
            entry = _Entry(finding, answer, found_in, MispObject("intrusion-set"))
            entry.intrusion_set.add("name", finding.candidate.actor.name, tags=finding.tags)
            if input_uuid:
                entry.intrusion_set.reference(input_uuid, "related-to")
            if essentials == 2:
                canonical = _canonical(finding, answer, found_in)
                attributes.append(canonical)
                # The object names its canonical attribute too: a later run on that attribute
                # then finds every reference in place and changes nothing.
                entry.intrusion_set.reference(canonical["uuid"], "related-to")
            entries.append(entry)
    for entry in entries:
        description = next((c.description for c in entry.finding.candidate.actor.clusters if c.description), "")
        if description and budget.take():
            entry.intrusion_set.add("description", description, disable_correlation=True)
    for entry in entries:
        if entry.shows_victims:
            _add_victims(entry, detail, budget)
    for entry in entries:
        _add_aliases(entry, detail, budget)
    for entry in entries:
        targeting = entry.finding.targeting
        goals = (*targeting.incident_types, *targeting.motives)
        shown = 0
        for item in goals[: detail.goals]:
            if not budget.take():
                break
            entry.intrusion_set.add("goals", item.value, comment=_provenance(item.sources))
            shown += 1
        _note_cut(entry, "goals", shown, len(goals))
    if settings.include_aliases_as_attributes:
        for entry in entries:
            if entry.finding.tagged:
                attributes.extend(_alias_attributes(entry, budget))
    for entry in entries:
        if entry.finding.tagged:
            urls = _references(entry.finding, settings.max_links)
            for url in urls:
                if not budget.take():
                    break
                attributes.append(attribute("link", url, category="External analysis",
                                            comment=f"Reference on {entry.finding.candidate.actor.name} from MISP galaxies"))

    objects: list[dict[str, Any]] = []
    for i, entry in enumerate(entries):
        comment = _object_comment(entry.finding, entry.answer)
        if entry.cut:
            comment += (f" Summary: {'; '.join(entry.cut)} left out; set the module's detail setting to full "
                        "for everything." if settings.detail == "summary" else
                        f" Left out to bound the answer: {'; '.join(entry.cut)}.")
        if entry.found_in is not None:
            comment += f" Found in the text: {entry.found_in}"
        if omitted and i == len(entries) - 1:
            comment += f" {omitted} more actor{'s' if omitted != 1 else ''} not shown: the answer's detail budget is spent."
        entry.intrusion_set.comment = comment
        objects.append(entry.intrusion_set.to_dict())
        if entry.victim is not None:
            objects.append(entry.victim.to_dict())
    body: dict[str, Any] = {}
    if attributes:
        body["Attribute"] = attributes
    if objects:
        body["Object"] = objects
    event_tags = [t for entry in entries for t in entry.finding.tags]
    if event_tags and not hover:
        body["Tag"] = [{"name": name} for name in dict.fromkeys(event_tags)]
    return body


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


def _add_victims(entry: _Entry, detail: Detail, budget: _Budget) -> None:
    """The actor's best-supported targets: most independent sources first."""
    targeting = entry.finding.targeting
    actor = entry.finding.candidate.actor
    sections = (
        ("regions", "places", _ranked((*targeting.countries, *targeting.regions)), detail.places),
        ("sectors", "sectors", _ranked(targeting.sectors), detail.sectors),
        ("name", "named victims", _ranked(targeting.organisations), detail.organisations),
    )
    for relation, label, items, cap in sections:
        shown = 0
        for item in items[:cap]:
            if not budget.take():
                break
            if entry.victim is None:
                entry.victim = MispObject("victim", comment=(
                    f"Known targeting of {actor.name} from MISP galaxies: the actor's history, not this "
                    f"event's victims. Items read from a cluster description say so in their comment; the "
                    f"best-supported come first."))
                entry.intrusion_set.reference(entry.victim.uuid, "targets")
            tags = (item.galaxy_tag,) if item.galaxy_tag else ()
            entry.victim.add(relation, item.value, comment=_provenance(item.sources), tags=tags)
            shown += 1
        _note_cut(entry, label, shown, len(items))


def _ranked(items: Sequence[TargetItem]) -> list[TargetItem]:
    """Most independent sources (distinct clusters) first; structured before description-only; stable."""
    return sorted(items, key=lambda i: (-len({(s.galaxy, s.cluster) for s in i.sources}), not i.structured))


def _add_aliases(entry: _Entry, detail: Detail, budget: _Budget) -> None:
    aliases = _attested_aliases(entry.finding)
    shown = 0
    for alias in aliases[: detail.aliases]:
        if not budget.take():
            break
        entry.intrusion_set.add("aliases", alias)
        shown += 1
    _note_cut(entry, "aliases", shown, len(aliases))


def _attested_aliases(finding: Finding) -> list[str]:
    """The actor's other names, those most clusters agree on first (then the data's order)."""
    actor = finding.candidate.actor
    support: dict[str, int] = {}
    for cluster in actor.clusters:
        for name in {n.casefold() for n in (cluster.name, *cluster.synonyms)}:
            support[name] = support.get(name, 0) + 1
    aliases = list(actor.aliases[:MAX_ALIASES])
    return sorted(aliases, key=lambda a: -support.get(a.casefold(), 0))


def _alias_attributes(entry: _Entry, budget: _Budget) -> list[dict[str, Any]]:
    """Each alias as a threat-actor attribute, tagged like the actor so a later run resolves it
    by its tags (an alias alone may name another actor too) and changes nothing."""
    finding, answer = entry.finding, entry.answer
    actor = finding.candidate.actor
    skip = {answer.resolution.query.strip().casefold(), actor.name.casefold()}
    out: list[dict[str, Any]] = []
    for alias in [a for a in _attested_aliases(finding) if a.casefold() not in skip][:MAX_ALIAS_ATTRIBUTES]:
        if not budget.take():
            break
        out.append(attribute(
            "threat-actor", alias, category="Attribution", tags=finding.tags,
            comment=f"Alias of {actor.name} in MISP galaxies, added so events naming it differently correlate"))
    return out


def _note_cut(entry: _Entry, label: str, shown: int, total: int) -> None:
    if shown < total:
        entry.cut.append(f"{total - shown} of {total} {label}")


def _object_comment(finding: Finding, answer: Answer) -> str:
    actor = finding.candidate.actor
    cand = finding.candidate
    resolution = answer.resolution
    galaxies = ", ".join(f"{c.galaxy} {c.value!r}" for c in actor.clusters)
    parts = [f"Known history of {actor.name} from MISP galaxies ({galaxies}); not a claim about this event."]
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


def _how_matched(query: str, finding: Finding) -> str:
    cand = finding.candidate
    if cand.tier is Tier.TAGGED:
        return f"the attribute {query!r} is already tagged {cand.matched}, the analyst's choice of {cand.actor.name}"
    if cand.matched.casefold() == query.strip().casefold():
        kind = "a listed synonym" if cand.tier is Tier.SYNONYM else "a cluster name"
        return f"{query!r} is {kind} of {cand.actor.name}"
    return f"{query!r} matched {cand.matched!r} of {cand.actor.name} ({cand.tier.label} match)"


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
