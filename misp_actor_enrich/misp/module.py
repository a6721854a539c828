"""The misp-modules contract for ``actor_enrich``: metadata, request parsing, the one error boundary.

Importing this module is cheap and never touches data or the network: the galaxy
knowledge is built on the first query (``data.runtime.current``). ``version()`` and
``introspection()`` return fresh dicts because misp-modules calls them on every
``/modules`` request and handlers run in a thread pool.
"""

from __future__ import annotations

import functools
import json
import logging
import uuid as uuid_module
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from ..core.errors import ActorEnrichError, InputError, one_line
from ..core.settings import MODULE_CONFIG, Settings, check_galaxy_types
from ..version import __version__

if TYPE_CHECKING:
    from ..core.answer import Answer
    from ..core.knowledge import Knowledge
    from .existing_tags import ExistingTags

log = logging.getLogger(__name__)

MODULE_NAME = "actor_enrich"
NAME_TYPES = ("threat-actor",)
TEXT_TYPES = ("text", "comment")        # free text: every actor named in it
INPUT_TYPES = (*NAME_TYPES, *TEXT_TYPES)
INPUT_OBJECTS = ("intrusion-set",)
MAX_VALUE_LENGTH = 512                  # an actor name
# A pasted report. MISP itself stores at most 65,535 bytes in one attribute; scripts may send more.
MAX_TEXT_LENGTH = 1_000_000

mispattributes: dict[str, Any] = {
    "input": [*INPUT_TYPES, *INPUT_OBJECTS],
    "output": ["threat-actor", "link", "filename", "filename-pattern", "intrusion-set", "victim"],
    "format": "misp_standard",
}

moduleinfo: dict[str, Any] = {
    "version": __version__,
    "author": "misp-actor-enrich developers",
    "description": ("Resolve a threat-actor name across MISP galaxies (threat-actor, mitre-intrusion-set, "
                    "microsoft-activity-group, 360net ..., and ransomware operations) to one actor, attach its "
                    "galaxy clusters and report its known targeting; says when a name is ambiguous or only a near "
                    "miss."),
    "module-type": ["expansion", "hover"],
    "name": "Threat Actor Enrichment (misp-actor-enrich)",
    "logo": "",
    "requirements": ["misp-actor-enrich (pip install misp-actor-enrich); works offline from the "
                     "misp-galaxy data bundled in the package (misp-actor-enrich update fetches newer data)"],
    "features": ("Matches the attribute value against every actor galaxy's cluster values and synonyms, exactly, "
                 "after normalisation (case, width, spacing, punctuation) and after dropping qualifiers "
                 "('the X group', 'X (Russia)'). Clusters that describe one actor in several galaxies are merged. "
                 "A resolved actor comes back as event-level galaxy tags, a canonical threat-actor attribute, an "
                 "intrusion-set object (name, aliases, description) and a victim object with the actor's known "
                 "target countries and sectors. Ambiguous names list their candidates untagged; near misses are "
                 "suggestions. In a text or comment attribute every actor written as a name is found (ids in any "
                 "case, ordinary-word names only when written as a name, names with another meaning only in a "
                 "text about security; names given side by side narrow each other) and answered the same way, "
                 "with the snippet it was found in. Galaxy tags are only attached by users with the tag editor permission when the "
                 "tag does not exist yet on the instance."),
    "references": ["https://github.com/MISP/misp-galaxy", "https://www.misp-project.org/galaxy.html"],
    "input": ("A threat-actor attribute (or an intrusion-set object's name); a text or comment attribute, "
              "in which every actor named is found (expansion only)."),
    "output": "Galaxy tags, a threat-actor attribute, intrusion-set and victim objects, reference links.",
}

moduleconfig: list[str] = list(MODULE_CONFIG)


def modules_root() -> Path:
    """The custom-module root to pass to ``misp-modules -c`` (its ``expansion/actor_enrich.py`` imports us)."""
    return Path(__file__).resolve().parent.parent / "modules_root"


def introspection() -> dict[str, Any]:
    return {key: (list(value) if isinstance(value, list) else value) for key, value in mispattributes.items()}


def version() -> dict[str, Any]:
    return {**moduleinfo, "module-type": list(moduleinfo["module-type"]), "config": list(moduleconfig)}


@dataclass(frozen=True, slots=True)
class Request:
    """A validated query: the name to resolve and how the caller will use the answer."""

    value: str
    kind: str            # the attribute type (an intrusion-set object's name counts as threat-actor)
    input_uuid: str | None
    hover: bool          # no event_id: MISP's hover popup
    automated: bool      # enrichEvent / workflow paths: results are saved without review
    settings: Settings
    tags: tuple[str, ...]
    in_object: bool = False   # the attribute belongs to an object (enrichEvent sends those too)


def dict_handler(request: Any) -> dict[str, Any]:
    """misp-modules entry point. Every error leaves as ``{"error": ...}``, here and only here."""
    try:
        return _answer(parse_request(request))
    except ActorEnrichError as exc:
        return {"error": one_line(str(exc))}
    except Exception as exc:  # includes AttributeError, which misp-modules would otherwise retry via handler()
        log.exception("actor_enrich failed on a request")  # never log the payload: it carries config
        return {"error": f"actor_enrich failed unexpectedly ({type(exc).__name__}); see the misp-modules log"}


def handler(q: bytes | str | None = None) -> dict[str, Any]:
    """Legacy entry point: the raw request body."""
    if not q:
        return {"error": "empty request"}
    try:
        request = json.loads(q)
    except (ValueError, UnicodeDecodeError) as exc:
        return {"error": one_line(f"request is not valid JSON: {exc}")}
    except RecursionError:
        return {"error": "request is not valid JSON: nested too deep"}
    return dict_handler(request)


def _answer(request: Request) -> dict[str, Any]:
    from ..data import runtime
    from .results import results

    known = runtime.current()
    check_galaxy_types(request.settings, known.galaxy_types)
    # A site file that does not load: the last good one answers, and every answer says so.
    notices = tuple(f"actor_enrich's site files need fixing, the last good ones are in force: {one_line(error)}"
                    for error in runtime.site_errors())
    if request.kind in TEXT_TYPES:
        return _answer_text(request, known, notices)
    found, _ = decide(request, known)
    if request.automated and not found.tagged:
        # Saved without review: an untagged candidate list would only add noise to the event.
        return {"results": {}}
    return results(found, request.settings, input_uuid=request.input_uuid, hover=request.hover, notices=notices)


def decide(request: Request, known: "Knowledge") -> tuple["Answer", "ExistingTags"]:
    """What a threat-actor attribute request gets: the analyst's tags first, then the name."""
    from ..core.answer import answer
    from .existing_tags import decided_resolution, read_existing

    existing = read_existing(request.tags, known, request.value)
    if existing.actors:
        resolution = decided_resolution(request.value, existing)
    else:
        resolution = known.resolve(request.value)
    # An actor tag we cannot place is still the analyst's call: report, never tag over it.
    return answer(resolution, known, request.settings, may_tag=not existing.unknown), existing


def _answer_text(request: Request, known: "Knowledge", notices: tuple[str, ...]) -> dict[str, Any]:
    """Every actor a text or comment names, each answered like a threat-actor attribute."""
    from ..core.answer import answer
    from ..core.text_scan import MAX_MENTIONS
    from .results import text_results

    if request.hover:
        return {"results": {}}  # expansion only: a hover popup is no place to scan a report
    if request.automated and request.in_object:
        # enrichEvent and workflows send the text attributes inside objects too, ours among them
        # (an intrusion-set's aliases and description name other actors): never feed on them.
        return {"results": {}}
    found = []
    scan = known.scanner.scan(request.value)
    if scan.stopped_at is not None:
        notices = (*notices, f"The text was read up to character {scan.stopped_at:,} of {len(request.value):,}: it names "
                             f"actors more than {MAX_MENTIONS:,} times, and no more are read from one text.")
    for finding in scan.findings:
        reply = answer(finding.resolution, known, request.settings)
        if reply.findings and (reply.tagged or not request.automated):
            # Where it was found, and why it counted when the name alone would not have.
            found.append((reply, f"{finding.snippet} ({finding.because})" if finding.because else finding.snippet))
    return text_results(found, request.settings, input_uuid=request.input_uuid, notices=notices)


def parse_request(request: Any) -> Request:
    if not isinstance(request, Mapping):
        raise InputError(f"the request must be a JSON object, not {type(request).__name__}")
    settings = settings_for(request.get("config"))
    in_object = False
    if "attribute" in request:
        kind, value, input_uuid, tags = _from_attribute(request["attribute"])
        in_object = _in_object(request["attribute"])
    elif "object" in request:
        kind, value, input_uuid, tags = _from_object(request["object"])
    else:
        raise InputError("missing 'attribute': send the threat-actor attribute to enrich")
    return Request(
        value=value,
        kind=kind,
        input_uuid=input_uuid,
        hover="event_id" not in request,
        automated="attribute_uuid" in request or "user" in request,
        settings=settings,
        tags=tags,
        in_object=in_object,
    )


def _in_object(attribute: Mapping[str, Any]) -> bool:
    """MISP marks an object's attribute with its object_id (a string, "0" when standalone)."""
    object_id = attribute.get("object_id")
    return bool(attribute.get("object_relation")) or str(object_id or "0").strip() not in ("0", "")


def settings_for(config: Any) -> Settings:
    """``Settings.from_module_config``, parsed once per distinct config: MISP sends it with every query."""
    if isinstance(config, Mapping):
        try:
            return _cached_settings(tuple(config.items()))
        except TypeError:       # an unhashable value: parse it uncached, it will be refused anyway
            pass
    return Settings.from_module_config(config)


@functools.lru_cache(maxsize=64)
def _cached_settings(items: tuple[tuple[Any, Any], ...]) -> Settings:
    return Settings.from_module_config(dict(items))


def _from_attribute(attribute: Any) -> tuple[str, str, str | None, tuple[str, ...]]:
    if not isinstance(attribute, Mapping):
        raise InputError(f"must be an object, not {type(attribute).__name__}", field="attribute")
    kind = attribute.get("type")
    if kind is None:
        raise InputError("missing", field="attribute.type")
    if kind not in INPUT_TYPES:
        raise InputError(f"unsupported type {str(kind)[:64]!r}; {MODULE_NAME} accepts {', '.join(INPUT_TYPES)} "
                         f"attributes and {', '.join(INPUT_OBJECTS)} objects", field="attribute.type")
    raw = attribute.get("value", attribute.get("value1"))
    limit = MAX_TEXT_LENGTH if kind in TEXT_TYPES else MAX_VALUE_LENGTH
    return (kind, _value(raw, "attribute.value", limit), _uuid(attribute.get("uuid"), "attribute.uuid"),
            input_tags(attribute))


def _from_object(obj: Any) -> tuple[str, str, str | None, tuple[str, ...]]:
    if not isinstance(obj, Mapping):
        raise InputError(f"must be an object, not {type(obj).__name__}", field="object")
    if obj.get("name") not in INPUT_OBJECTS:
        raise InputError(f"unsupported object {str(obj.get('name'))[:64]!r}; {MODULE_NAME} accepts "
                         f"{', '.join(INPUT_OBJECTS)} objects and {', '.join(INPUT_TYPES)} attributes",
                         field="object.name")
    attributes = obj.get("Attribute")
    if not isinstance(attributes, list):
        raise InputError("missing or not a list", field="object.Attribute")
    for relation in ("name", "aliases"):
        for attribute in attributes:
            if isinstance(attribute, Mapping) and attribute.get("object_relation") == relation:
                raw = attribute.get("value", attribute.get("value1"))
                return ("threat-actor", _value(raw, f"object.Attribute[{relation}].value", MAX_VALUE_LENGTH),
                        _uuid(obj.get("uuid"), "object.uuid"), input_tags(attribute))
    raise InputError("the intrusion-set object has no name or aliases attribute", field="object.Attribute")


def _value(raw: Any, where: str, limit: int) -> str:
    if raw is None:
        raise InputError("missing", field=where)
    if not isinstance(raw, str):
        raise InputError(f"must be a string, not {type(raw).__name__}", field=where)
    if not raw.strip():
        raise InputError("is empty", field=where)
    if len(raw) > limit:
        what = "a text" if limit == MAX_TEXT_LENGTH else "an actor name"
        raise InputError(f"is {len(raw)} characters long; {what} is at most {limit}", field=where)
    return raw


def _uuid(raw: Any, where: str) -> str | None:
    if raw is None or raw == "":
        return None
    try:
        return str(uuid_module.UUID(str(raw)))
    except ValueError:
        raise InputError(f"is not a UUID: {str(raw)[:64]!r}", field=where) from None


def input_tags(attribute: Mapping[str, Any]) -> tuple[str, ...]:
    """The attribute's own tag names, in any of MISP's three shapes.

    ``Tag[]`` (attach-enrichment, PyMISP), ``AttributeTag[].Tag`` (enrichEvent's
    fetchEvent rows) and ``_allTags[]`` (workflows), whose ``inherited`` entries are
    the event's tags, not the attribute's. Malformed entries are skipped: tags are
    context, never a reason to fail.
    """
    entries: list[Any] = []
    if isinstance(attribute.get("Tag"), list):
        entries.extend(attribute["Tag"])
    if isinstance(attribute.get("AttributeTag"), list):
        entries.extend(e.get("Tag") for e in attribute["AttributeTag"] if isinstance(e, Mapping))
    if isinstance(attribute.get("_allTags"), list):
        entries.extend(e for e in attribute["_allTags"] if isinstance(e, Mapping) and not e.get("inherited"))
    names: dict[str, None] = {}     # ordered and linear: an attribute may carry tens of thousands of tags
    for entry in entries:
        name = entry.get("name") if isinstance(entry, Mapping) else None
        if isinstance(name, str) and name:
            names[name] = None
    return tuple(names)
