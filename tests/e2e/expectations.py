"""What an enriched event must look like in MISP, checked on what MISP stored."""

from __future__ import annotations

import json
from typing import Any, Iterable

from live_misp import ARTIFACTS, LiveMisp

MAX_ATTRIBUTES = 50          # the default detail budget: one enrichment adds at most this many


def actors_attached(event: dict[str, Any]) -> int:
    """Actors the enrichment attached: intrusion-set objects whose name carries galaxy tags."""
    return sum(1 for o in event.get("Object", []) if o["name"] == "intrusion-set"
               and any(a["object_relation"] == "name" and a.get("Tag") for a in o["Attribute"]))


def check_size(before: dict[str, Any], after: dict[str, Any], label: str) -> int:
    """At most 50 attributes per actor attached (standalone and in objects); returns how many were added
    and keeps the figure in the artifacts (sizes.json) for the README's numbers."""
    added = LiveMisp.attribute_count(after) - LiveMisp.attribute_count(before)
    assert added <= MAX_ATTRIBUTES * max(actors_attached(after), 1), (added, actors_attached(after))
    path = ARTIFACTS / "sizes.json"
    sizes = json.loads(path.read_text()) if path.is_file() else {}
    sizes[label] = {"attributes_added": added, "actors": actors_attached(after)}
    path.write_text(json.dumps(sizes, indent=1, sort_keys=True))
    return added


def galaxy_types(tags: Iterable[str]) -> set[str]:
    return {t.split(":", 1)[1].split("=", 1)[0] for t in tags if t.startswith("misp-galaxy:")}


def expected_tags(misp: LiveMisp, names: Iterable[tuple[str, str]]) -> set[str]:
    """The galaxy tags our module answers for these (type, value) inputs."""
    return {tag for kind, value in names for tag in misp.module_tags(value, kind)}


def check_clusters(misp: LiveMisp, event: dict[str, Any], expected: set[str]) -> None:
    """The right clusters, nothing else: every galaxy tag on the event is one the module answered for
    this event's inputs, and every one of those whose cluster exists on the instance is attached."""
    stored = {t["name"] for t in event.get("Tag", []) if t["name"].startswith("misp-galaxy:")}
    assert stored <= expected, f"tags no input named: {sorted(stored - expected)}"
    attached = set(LiveMisp.galaxy_clusters(event))
    attachable = expected & misp.instance_clusters(galaxy_types(expected))
    assert attached == attachable, (f"missing clusters {sorted(attachable - attached)}, "
                                    f"unexpected {sorted(attached - attachable)}")
    for attribute in event["Attribute"]:
        for tag in attribute.get("Tag", []):
            assert not tag["name"].startswith("misp-galaxy:") or tag["name"] in expected, tag["name"]
