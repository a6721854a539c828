"""Enrich whole MISP events in-process: plan what an event lacks, then write exactly that.

``plan_event`` is pure: it runs each threat-actor attribute of a ``MISPEvent`` through
the same resolution, policy and ``misp_output.results`` the misp-modules handler
uses, and keeps only what the event does not already hold. That makes a second run a
no-op by construction:

- event tags: skipped when the event already carries the tag (any scope; MISP
  matches tag names case-insensitively);
- standalone attributes (canonical ``threat-actor``, ``link``...): skipped when the
  event has one with the same type and value, case-insensitively (MISP would reject
  the duplicate and drop its tags);
- objects: an actor's ``intrusion-set`` is added once per event. When the event already
  holds an ``intrusion-set`` with the actor's name (ours from an earlier run, or the
  analyst's), no second one is added; only the references it lacks are (``related-to``
  the input attribute, ``targets`` a victim object), so a run cut short between the
  object and its references is completed by the next. A ``victim`` object identical
  to one already in the event is reused rather than duplicated.

Everything added copies the input attribute's ``distribution`` (and sharing group):
enrichment never shares wider than the name it came from. Names that stay ambiguous,
near misses and unknown names change nothing and are reported for a human, as on
MISP's own automated paths.

``apply_plan`` writes a plan through PyMISP (``tag``, ``add_attribute``,
``add_object``, ``add_object_reference``), one call per change, in plan order.

For a site's own PyMISP scripts, offline on an event object they hold::

    from pymisp import PyMISP
    from misp_actor_enrich.misp.bulk import enrich_event

    misp = PyMISP(url, key)
    event = misp.get_event(42, pythonify=True)
    plan = enrich_event(event)             # adds tags, attributes, objects to `event`
    for outcome in plan.attributes:
        print(outcome.value, outcome.status, outcome.actors)
    if plan.changes:
        misp.update_event(event)

or let the library write the changes itself: ``enrich_misp_event(misp, 42)``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from typing import Any, Iterator, Literal, Mapping

from pymisp import MISPAttribute, MISPEvent, MISPObject, MISPObjectReference, PyMISP

from ..core.errors import ActorEnrichError, InputError
from ..core.knowledge import Knowledge
from ..core.settings import Settings

TagScope = Literal["global", "local"]
THREAT_ACTOR = "threat-actor"
SHARING_GROUP = 4


class MispError(ActorEnrichError):
    """MISP refused a request or could not be reached; ``field`` names the event."""


@dataclass(frozen=True, slots=True)
class AttributeOutcome:
    """What became of one threat-actor attribute of the event."""

    uuid: str
    value: str
    status: str                  # resolved, ambiguous, suggested, unknown, kept (analyst's unknown tag), invalid
    tagged: bool                 # the actor's galaxy clusters were (or will be) attached
    actors: tuple[str, ...]      # the actor, or every candidate
    reason: str

    @property
    def needs_human(self) -> bool:
        return not self.tagged and self.status not in {"resolved", "kept"}

    def as_dict(self) -> dict[str, Any]:
        return {"uuid": self.uuid, "value": self.value, "status": self.status, "tagged": self.tagged,
                "actors": list(self.actors), "reason": self.reason}


@dataclass(frozen=True, slots=True)
class Change:
    """One write: ``kind`` is tag, attribute, object or reference; ``payload`` is what MISP gets."""

    kind: str
    summary: str
    payload: Mapping[str, Any] = field(compare=False)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "summary": self.summary, "payload": copy.deepcopy(dict(self.payload))}


@dataclass(frozen=True, slots=True)
class EventPlan:
    event_id: str
    event_uuid: str
    info: str
    attributes: tuple[AttributeOutcome, ...]
    changes: tuple[Change, ...]

    @property
    def needs_human(self) -> tuple[AttributeOutcome, ...]:
        return tuple(a for a in self.attributes if a.needs_human)

    def as_dict(self) -> dict[str, Any]:
        return {"event_id": self.event_id, "event_uuid": self.event_uuid, "info": self.info,
                "attributes": [a.as_dict() for a in self.attributes],
                "changes": [c.as_dict() for c in self.changes]}


# --- planning (pure) -------------------------------------------------------------


@dataclass
class _Obj:
    uuid: str
    name: str
    label: str
    pairs: frozenset[tuple[str, str]]
    refs: set[tuple[str, str]]               # (relationship_type, referenced_uuid)


@dataclass
class _Index:
    """What the event holds, updated as changes are planned so attributes see each other's."""

    tags: set[str]
    attributes: set[tuple[str, str]]
    objects: list[_Obj]
    labels: dict[str, str]                   # uuid -> "threat-actor 'Reaper'", for summaries

    @classmethod
    def of(cls, event: MISPEvent) -> "_Index":
        index = cls({t.name.casefold() for t in event.tags if t.get("name")}, set(), [], {})
        for a in event.attributes:
            if not a.get("deleted"):
                index.attributes.add((a.type, str(a.value).casefold()))
                index.labels[a.uuid] = f"{a.type} {a.value!r}"
        for o in event.objects:
            if o.get("deleted"):
                continue
            live = [a for a in o.attributes if not a.get("deleted")]
            for a in live:
                index.labels[a.uuid] = f"{a.type} {a.value!r}"
            pairs = frozenset((a.object_relation, str(a.value)) for a in live)
            refs = {(r.relationship_type, r.referenced_uuid) for r in o.references if not r.get("deleted")}
            index.add_object(o.uuid, o.name, pairs, refs)
        return index

    def add_object(self, uuid: str, name: str, pairs: frozenset[tuple[str, str]],
                   refs: set[tuple[str, str]]) -> _Obj:
        label = next((v for r, v in sorted(pairs) if r == "name"), "")
        obj = _Obj(uuid, name, label, pairs, refs)
        self.objects.append(obj)
        self.labels[uuid] = f"{name} {label!r}" if label else name
        return obj

    def intrusion_set(self, actor_name: str) -> _Obj | None:
        key = actor_name.casefold()
        return next((o for o in self.objects if o.name == "intrusion-set" and o.label.casefold() == key), None)

    def identical(self, name: str, pairs: frozenset[tuple[str, str]]) -> _Obj | None:
        return next((o for o in self.objects if o.name == name and o.pairs == pairs), None)


def threat_actor_attributes(event: MISPEvent) -> Iterator[MISPAttribute]:
    """The event's live threat-actor attributes, standalone and inside objects (as enrichEvent sees them)."""
    for a in event.attributes:
        if a.type == THREAT_ACTOR and not a.get("deleted"):
            yield a
    for o in event.objects:
        if not o.get("deleted"):
            yield from (a for a in o.attributes if a.type == THREAT_ACTOR and not a.get("deleted"))


def plan_event(event: MISPEvent, knowledge: Knowledge, settings: Settings,
               tag_scope: TagScope = "global") -> EventPlan:
    """The changes that would enrich ``event``; empty when it already holds them all."""
    index = _Index.of(event)
    outcomes: list[AttributeOutcome] = []
    changes: list[Change] = []
    for attribute in threat_actor_attributes(event):
        outcome, body = _resolve(attribute, knowledge, settings)
        outcomes.append(outcome)
        if body:
            changes.extend(_missing(body, attribute, index, tag_scope == "local"))
    return EventPlan(str(event.get("id", "")), str(event.get("uuid", "")), str(event.get("info", "")),
                     tuple(outcomes), tuple(changes))


def _resolve(attribute: MISPAttribute, knowledge: Knowledge,
             settings: Settings) -> tuple[AttributeOutcome, dict[str, Any] | None]:
    # The same steps as module._answer on MISP's automated paths: parse and validate the
    # attribute, respect tags already on it, apply policy, render with misp_output.
    from . import module
    from .results import results

    uuid = str(attribute.get("uuid", ""))
    raw = {"type": attribute.type, "value": attribute.get("value"), "uuid": uuid or None,
           "Tag": [{"name": t.name} for t in attribute.tags if t.get("name")]}
    try:
        request = replace(module.parse_request({"event_id": "0", "attribute_uuid": uuid, "attribute": raw}),
                          settings=settings)
    except InputError as exc:
        return AttributeOutcome(uuid, str(raw["value"]), "invalid", False, (), str(exc)), None
    found, existing = module.decide(request, knowledge)
    resolution = found.resolution
    actors = tuple(f.candidate.actor.name for f in found.findings)
    if existing.unknown and not existing.actors:
        reason = f"already tagged {', '.join(existing.unknown)}, which the galaxy data does not know; left as is"
        return AttributeOutcome(uuid, request.value, "kept", False, actors, reason), None
    outcome = AttributeOutcome(uuid, request.value, resolution.status.value, found.tagged, actors, resolution.reason)
    if not found.tagged:
        return outcome, None  # saved without review: untagged candidates would only be noise
    body: dict[str, Any] = results(found, settings, input_uuid=request.input_uuid, hover=False)["results"]
    return outcome, body


def _missing(body: Mapping[str, Any], source: MISPAttribute, index: _Index, local: bool) -> Iterator[Change]:
    sharing = _sharing(source)
    source_label = f"{source.type} {source.value!r}"
    index.labels.setdefault(source.uuid, source_label)
    for tag in body.get("Tag", ()):
        name = tag["name"]
        if name.casefold() not in index.tags:
            index.tags.add(name.casefold())
            yield Change("tag", f"tag the event {name} ({'local' if local else 'global'})",
                         {"name": name, "local": local})
    for attribute in body.get("Attribute", ()):
        key = (attribute["type"], attribute["value"].casefold())
        if key not in index.attributes:
            index.attributes.add(key)
            payload = _shared(attribute, sharing, local)
            index.labels[payload["uuid"]] = f"{attribute['type']} {attribute['value']!r}"
            yield Change("attribute", f"add attribute {attribute['type']} {attribute['value']!r} "
                         f"({attribute['category']}{_tag_note(attribute)})", payload)
    objects = {o["uuid"]: o for o in body.get("Object", ())}
    for obj in body.get("Object", ()):
        if obj["name"] == "intrusion-set":
            yield from _intrusion_set(obj, objects, index, sharing, local)


def _intrusion_set(obj: Mapping[str, Any], objects: Mapping[str, Mapping[str, Any]], index: _Index,
                   sharing: Mapping[str, Any], local: bool) -> Iterator[Change]:
    refs = [r for r in obj.get("ObjectReference", ())]
    name = next((a["value"] for a in obj["Attribute"] if a["object_relation"] == "name"), "")
    held = index.intrusion_set(name)
    if held is None:
        payload = _shared(obj, sharing, local)
        held = index.add_object(payload["uuid"], obj["name"], _pairs(obj), set())
        yield Change("object", f"add object intrusion-set {name!r} ({len(obj['Attribute'])} attributes)", payload)
    held_types = {kind for kind, _ in held.refs}
    for ref in refs:
        kind, target = ref["relationship_type"], ref["referenced_uuid"]
        if kind in held_types:
            continue  # the actor's object already says this (for the first attribute that named it)
        if target in objects:
            victim = objects[target]
            found = index.identical(victim["name"], _pairs(victim))
            if found is None:
                payload = _shared(victim, sharing, local)
                found = index.add_object(payload["uuid"], victim["name"], _pairs(victim), set())
                yield Change("object", f"add object {victim['name']} for {name!r} "
                             f"({len(victim['Attribute'])} attributes)", payload)
            target = found.uuid
        held.refs.add((kind, target))
        held_types.add(kind)
        yield Change("reference", f"add reference {index.labels[held.uuid]} {kind} {index.labels.get(target, target)}",
                     {"object_uuid": held.uuid, "referenced_uuid": target, "relationship_type": kind})


def _pairs(obj: Mapping[str, Any]) -> frozenset[tuple[str, str]]:
    return frozenset((a["object_relation"], str(a["value"])) for a in obj["Attribute"])


def _sharing(source: MISPAttribute) -> dict[str, Any]:
    """The input's distribution, to copy onto everything we add (never wider than the input)."""
    distribution = source.get("distribution")
    if distribution is None or str(distribution) == "":
        return {}
    out: dict[str, Any] = {"distribution": int(distribution)}
    if out["distribution"] == SHARING_GROUP:
        out["sharing_group_id"] = int(source.get("sharing_group_id") or 0)
    return out


def _shared(entity: Mapping[str, Any], sharing: Mapping[str, Any], local: bool) -> dict[str, Any]:
    out = {k: v for k, v in entity.items() if k != "ObjectReference"}
    out.update(sharing)
    if "Tag" in out:
        out["Tag"] = [{**t, "local": True} if local else dict(t) for t in out["Tag"]]
    if "Attribute" in out:
        out["Attribute"] = [_shared(a, sharing, local) for a in out["Attribute"]]
    return out


def _tag_note(attribute: Mapping[str, Any]) -> str:
    count = len(attribute.get("Tag", ()))
    return f", {count} tag{'s' if count != 1 else ''}" if count else ""


# --- applying ----------------------------------------------------------------------


def apply_plan(misp: PyMISP, plan: EventPlan) -> int:
    """Write ``plan`` through PyMISP, in order; returns the number of writes. Raises MispError."""
    done = 0
    for change in plan.changes:
        payload = copy.deepcopy(dict(change.payload))
        if change.kind == "tag":
            response: Any = misp.tag(plan.event_uuid, payload["name"], local=bool(payload["local"]))
        elif change.kind == "attribute":
            attribute = MISPAttribute()
            attribute.from_dict(**payload)
            response = misp.add_attribute(plan.event_id, attribute)
        elif change.kind == "object":
            obj = MISPObject(payload["name"], standalone=False)
            obj.from_dict(**payload)
            response = misp.add_object(plan.event_id, obj)
        else:
            reference = MISPObjectReference()
            reference.from_dict(**payload)
            response = misp.add_object_reference(reference)
        if isinstance(response, Mapping) and response.get("errors"):
            raise MispError(f"MISP refused to {change.summary} after {done} of {len(plan.changes)} changes: "
                            f"{misp_errors(response['errors'])}", field=f"event {plan.event_id}")
        done += 1
    return done


def misp_errors(errors: Any) -> str:
    """PyMISP's ``errors`` value (status, MISP's JSON) as one line."""
    if isinstance(errors, (tuple, list)) and len(errors) == 2 and isinstance(errors[1], Mapping):
        detail = errors[1]
        return f"HTTP {errors[0]} {detail.get('message') or detail.get('name') or ''} {detail.get('errors') or ''}".strip()
    return str(errors)[:300]


def apply_offline(event: MISPEvent, plan: EventPlan) -> None:
    """Add the plan's changes to the event object itself (for ``update_event`` by the caller)."""
    objects: dict[str, MISPObject] = {o.uuid: o for o in event.objects}
    for change in plan.changes:
        payload = copy.deepcopy(dict(change.payload))
        if change.kind == "tag":
            event.add_tag(payload)
        elif change.kind == "attribute":
            event.add_attribute(**payload)
        elif change.kind == "object":
            obj = MISPObject(payload["name"], standalone=False)
            obj.from_dict(**payload)
            objects[obj.uuid] = event.add_object(obj)
        else:
            objects[payload["object_uuid"]].add_reference(payload["referenced_uuid"], payload["relationship_type"])


# --- library entry points ------------------------------------------------------------


def enrich_event(event: MISPEvent, *, knowledge: Knowledge | None = None, settings: Settings | None = None,
                 tag_scope: TagScope = "global") -> EventPlan:
    """Enrich an event object in place (no network); returns the plan that was applied to it."""
    from ..data import runtime

    plan = plan_event(event, knowledge or runtime.current(), settings or Settings(), tag_scope)
    apply_offline(event, plan)
    return plan


def fetch_event(misp: PyMISP, event_id: str | int) -> MISPEvent:
    event = misp.get_event(event_id, pythonify=True)
    if not isinstance(event, MISPEvent):
        errors = event.get("errors") if isinstance(event, Mapping) else event
        raise MispError(f"could not fetch the event: {misp_errors(errors)}", field=f"event {event_id}")
    return event


def enrich_misp_event(misp: PyMISP, event_id: str | int, *, knowledge: Knowledge | None = None,
                      settings: Settings | None = None, tag_scope: TagScope = "global",
                      dry_run: bool = False) -> EventPlan:
    """Fetch one event, plan, and (unless ``dry_run``) write the changes through ``misp``."""
    from ..data import runtime

    event = fetch_event(misp, event_id)
    plan = plan_event(event, knowledge or runtime.current(), settings or Settings(), tag_scope)
    if not dry_run:
        apply_plan(misp, plan)
    return plan

