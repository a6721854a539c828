"""Checks a misp_standard answer the way MISP and PyMISP will read it."""

from __future__ import annotations

import copy
import json
import uuid
from collections import Counter
from pathlib import Path
from typing import Any, Iterator

import pymisp
from pymisp import MISPEvent

TEMPLATES = Path(pymisp.__file__).parent / "data" / "misp-objects" / "objects"


def template(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((TEMPLATES / name / "definition.json").read_text())
    return data


def all_attributes(results: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from results.get("Attribute", [])
    for obj in results.get("Object", []):
        yield from obj["Attribute"]


def check_object_against_template(obj: dict[str, Any]) -> None:
    definition = template(obj["name"])
    assert obj["template_uuid"] == definition["uuid"]
    assert str(obj["template_version"]) == str(definition["version"])
    known = definition["attributes"]
    relations = Counter(a["object_relation"] for a in obj["Attribute"])
    for relation, count in relations.items():
        assert relation in known, f"{obj['name']} has no relation {relation!r}"
        assert count == 1 or known[relation].get("multiple"), f"{relation!r} is not multiple"
    for attribute in obj["Attribute"]:
        assert attribute["type"] == known[attribute["object_relation"]]["misp-attribute"]
    for required in definition.get("required", []):
        assert required in relations, f"{obj['name']} lacks required {required!r}"
    one_of = definition.get("requiredOneOf", [])
    assert not one_of or any(r in relations for r in one_of), f"{obj['name']} lacks one of {one_of}"


def check_misp_standard(body: dict[str, Any], *, input_uuid: str | None = None) -> MISPEvent:
    """Every rule MISP_CONTRACT.md sets for a result; returns the answer loaded by PyMISP."""
    assert set(body) == {"results"}, body
    results = body["results"]
    assert set(results) <= {"Attribute", "Object", "Tag"}
    if results:
        assert results.get("Attribute") or results.get("Object"), "a Tag-only answer is dropped by MISP's UI"
    uuids = []
    for attribute in all_attributes(results):
        assert attribute["to_ids"] is False
        assert "distribution" not in attribute and "id" not in attribute
        uuids.append(attribute["uuid"])
        for tag in attribute.get("Tag", []):
            assert set(tag) == {"name"} or "relationship_type" not in tag
    for obj in results.get("Object", []):
        assert "distribution" not in obj
        uuids.append(obj["uuid"])
        check_object_against_template(obj)
        for reference in obj.get("ObjectReference", []):
            assert reference["object_uuid"] == obj["uuid"]
            assert {"referenced_uuid", "relationship_type"} <= set(reference)
    for value in uuids:
        assert uuid.UUID(value).version == 4
    assert len(uuids) == len(set(uuids))
    if input_uuid:
        assert input_uuid not in uuids, "the input attribute must never be echoed"
    for tag in results.get("Tag", []):
        assert set(tag) == {"name"}, "top-level tags carry a name only"
    event = MISPEvent()
    event.load(copy.deepcopy({"Event": {"info": "check", **results}}))  # PyMISP consumes what it loads
    return event
