"""MISP attributes and objects as plain misp_standard dicts, checked against MISP's own definitions.

PyMISP builds the same dicts, but at ~60 µs per attribute, which is most of an
answer's cost. This builder reads the definitions PyMISP ships (misp-objects
templates and describeTypes) once and applies the checks that matter here, as
PyMISP's strict mode would: the relation exists in the template, a non-multiple
relation appears once, the attribute type comes from the template, the category
is valid for the type. The tests load every answer back into PyMISP.
"""

from __future__ import annotations

import importlib.util
import json
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

from ..core.errors import ActorEnrichError

# Builders get placeholder uuids; misp_output stamps fresh uuid4s on every answer.
_counter = iter(range(1, 1 << 62))
_counter_lock = threading.Lock()


def placeholder_uuid() -> str:
    with _counter_lock:
        n = next(_counter)
    return f"00000000-0000-4000-8000-{n:012x}"


@lru_cache(maxsize=1)
def _pymisp_data() -> Path:
    spec = importlib.util.find_spec("pymisp")
    if spec is None or not spec.submodule_search_locations:
        raise ActorEnrichError("PyMISP is not installed: no misp-objects templates")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


@lru_cache(maxsize=1)
def describe_types() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((_pymisp_data() / "describeTypes.json").read_text())["result"]
    return data


@lru_cache(maxsize=16)
def template(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((_pymisp_data() / "misp-objects" / "objects" / name / "definition.json").read_text())
    return data


def _check_category(type_: str, category: str) -> None:
    if type_ not in describe_types()["category_type_mappings"].get(category, ()):
        raise ValueError(f"category {category!r} is not valid for type {type_!r}")


def attribute(type_: str, value: str, *, category: str | None = None, comment: str = "",
              tags: Iterable[str] = (), disable_correlation: bool = False) -> dict[str, Any]:
    """A standalone attribute; ``to_ids`` is always false (we never produce indicators)."""
    if type_ not in describe_types()["types"]:
        raise ValueError(f"unknown attribute type {type_!r}")
    category = category or describe_types()["sane_defaults"][type_]["default_category"]
    _check_category(type_, category)
    out: dict[str, Any] = {"uuid": placeholder_uuid(), "type": type_, "category": category, "value": value,
                           "to_ids": False}
    if disable_correlation:     # MISP's default is false: said only when true (answers stay small)
        out["disable_correlation"] = True
    if comment:
        out["comment"] = comment
    names = list(dict.fromkeys(tags))
    if names:
        out["Tag"] = [{"name": n} for n in names]
    return out


class MispObject:
    """An object under construction from a misp-objects template, strict like PyMISP's."""

    def __init__(self, name: str, comment: str = "") -> None:
        self.definition = template(name)
        self.uuid = placeholder_uuid()
        self.comment = comment
        self.attributes: list[dict[str, Any]] = []
        self.references: list[dict[str, Any]] = []

    def add(self, relation: str, value: str, *, comment: str = "", tags: Iterable[str] = (),
            disable_correlation: bool = False) -> None:
        spec = self.definition["attributes"].get(relation)
        if spec is None:
            raise ValueError(f"{self.definition['name']} has no relation {relation!r}")
        if not spec.get("multiple") and any(a["object_relation"] == relation for a in self.attributes):
            raise ValueError(f"{self.definition['name']}.{relation} takes one value")
        type_ = spec["misp-attribute"]
        categories = spec.get("categories")
        made = attribute(type_, value, category=categories[0] if categories else None, comment=comment,
                         tags=tags, disable_correlation=disable_correlation or bool(spec.get("disable_correlation")))
        made["object_relation"] = relation
        self.attributes.append(made)

    def reference(self, referenced_uuid: str, relationship_type: str) -> None:
        # No uuid of its own: MISP makes one when it saves a reference from module results (it
        # ignores a sent one on every path), and one fewer fresh uuid per reference on every answer.
        self.references.append({"object_uuid": self.uuid, "referenced_uuid": referenced_uuid,
                                "relationship_type": relationship_type})

    def to_dict(self) -> dict[str, Any]:
        relations = {a["object_relation"] for a in self.attributes}
        for required in self.definition.get("required", ()):
            if required not in relations:
                raise ValueError(f"{self.definition['name']} needs {required!r}")
        one_of = self.definition.get("requiredOneOf", ())
        if one_of and not relations & set(one_of):
            raise ValueError(f"{self.definition['name']} needs one of {', '.join(one_of)}")
        # No "description": the template's own text (1.3 kB of STIX prose for an intrusion-set) on
        # every answer; MISP knows it from the template and shows nothing else for it.
        out: dict[str, Any] = {
            "uuid": self.uuid,
            "name": self.definition["name"],
            "meta-category": self.definition["meta-category"],
            "template_uuid": self.definition["uuid"],
            "template_version": str(self.definition["version"]),
            "Attribute": self.attributes,
        }
        if self.comment:
            out["comment"] = self.comment
        if self.references:
            out["ObjectReference"] = self.references
        return out
