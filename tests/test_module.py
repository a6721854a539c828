"""The misp-modules contract: metadata, every MISP payload, and clear errors for bad input."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Callable

import pytest
from conftest import PAYLOADS
from misp_checks import check_misp_standard

from misp_actor_enrich.core.errors import ConfigError
from misp_actor_enrich.core.settings import MODULE_CONFIG
from misp_actor_enrich.misp import module

INPUT_UUID = "9f2b7c1e-4d3a-4e8b-a6c5-2f1e0d9c8b7a"
REQUEST_PAYLOADS = sorted(p.name for p in PAYLOADS.glob("*.json") if not p.name.startswith("response"))
Payload = Callable[..., dict[str, Any]]


def test_metadata_has_every_field_misp_modules_expects() -> None:
    meta = module.version()
    for key in ("version", "author", "module-type", "name", "description", "logo", "requirements",
                "features", "references", "input", "output", "config"):
        assert key in meta, key
    assert meta["module-type"] == ["expansion", "hover"]
    assert meta["config"] == list(MODULE_CONFIG) and all(isinstance(k, str) for k in meta["config"])
    assert module.introspection() == {"input": ["threat-actor", "text", "comment", "intrusion-set"],
                                      "output": ["threat-actor", "link", "filename", "filename-pattern", "intrusion-set",
                                                 "victim"],
                                      "format": "misp_standard"}


def test_metadata_calls_return_fresh_dicts() -> None:
    module.version()["config"].append("oops")
    module.introspection()["input"].append("oops")
    assert "oops" not in module.version()["config"]
    assert "oops" not in module.introspection()["input"]


def test_every_payload_fixture_is_described() -> None:
    """fixtures/payloads/README.md says which MISP path each request shape stands for."""
    described = (PAYLOADS / "README.md").read_text(encoding="utf-8")
    for path in sorted(PAYLOADS.glob("*.json")):
        assert f"`{path.name}`" in described, path.name


@pytest.mark.parametrize("name", REQUEST_PAYLOADS)
def test_every_misp_payload_gets_a_valid_answer(payload: Payload, name: str) -> None:
    body = module.dict_handler(payload(name))
    event = check_misp_standard(body, input_uuid=INPUT_UUID)
    results = body["results"]
    names = {o.name for o in event.objects}
    assert names == {"intrusion-set", "victim"}
    intrusion_set = next(o for o in results["Object"] if o["name"] == "intrusion-set")
    references = {(r["referenced_uuid"], r["relationship_type"]) for r in intrusion_set["ObjectReference"]}
    victim_uuid = next(o["uuid"] for o in results["Object"] if o["name"] == "victim")
    assert (victim_uuid, "targets") in references
    input_reference = "1d6c3f0a-7b2e-4c9d-8e1f-3a2b4c5d6e7f" if name.startswith("e_") else INPUT_UUID
    # Hover answers are only shown, never saved: they reference no input (and are stamped once).
    assert ((input_reference, "related-to") in references) is not name.startswith("b_hover")
    hover = "event_id" not in payload(name)
    assert ("Tag" in results) is not hover
    if not hover:
        assert {t["name"] for t in results["Tag"]} >= {'misp-galaxy:threat-actor="APT37"',
                                                      'misp-galaxy:mitre-intrusion-set="APT37 - G0067"'}


def test_a_resolved_alias_gets_the_canonical_attribute_with_tags(payload: Payload) -> None:
    results = module.dict_handler(payload(config={"galaxy_types": None}))["results"]
    (canonical,) = [a for a in results["Attribute"] if a["type"] == "threat-actor"]
    assert canonical["value"] == "APT37" and canonical["category"] == "Attribution"
    assert 'misp-galaxy:threat-actor="APT37"' in {t["name"] for t in canonical["Tag"]}
    links = [a for a in results["Attribute"] if a["type"] == "link"]
    assert 0 < len(links) <= 5 and all(a["category"] == "External analysis" for a in links)


def test_the_canonical_name_is_not_repeated(payload: Payload) -> None:
    results = module.dict_handler(payload(value="APT37"))["results"]
    assert [a for a in results["Attribute"] if a["type"] == "threat-actor" and a["value"] == "APT37"] == []


def test_galaxy_types_limits_the_tags(payload: Payload) -> None:
    body = module.dict_handler(payload(config={"galaxy_types": "threat-actor"}))
    assert body["results"]["Tag"] == [{"name": 'misp-galaxy:threat-actor="APT37"'}]


def test_aliases_as_attributes_when_asked(payload: Payload) -> None:
    results = module.dict_handler(payload(config={"include_aliases_as_attributes": "1"}))["results"]
    values = {a["value"] for a in results["Attribute"] if a["type"] == "threat-actor"}
    assert {"ScarCruft", "Ricochet Chollima", "InkySquid"} <= values
    assert "Reaper" not in values  # the input itself is never returned


def test_no_match_is_an_empty_result(payload: Payload) -> None:
    assert module.dict_handler(payload(value="Definitely Not An Actor")) == {"results": {}}
    assert module.dict_handler(payload(value="———")) == {"results": {}}


def test_ambiguous_names_list_candidates_untagged(payload: Payload) -> None:
    body = module.dict_handler(payload(value="Grizzly Steppe"))
    check_misp_standard(body, input_uuid=INPUT_UUID)
    results = body["results"]
    assert "Tag" not in results and "Attribute" not in results
    names = sorted(o["Attribute"][0]["value"] for o in results["Object"])
    assert names == ["APT28", "APT29"]
    assert all("Ambiguous" in o["comment"] for o in results["Object"])
    assert not any(a.get("Tag") for o in results["Object"] for a in o["Attribute"])


def test_ambiguous_names_tag_all_candidates_when_configured(payload: Payload) -> None:
    results = module.dict_handler(payload(value="Grizzly Steppe", config={"tag_ambiguous": "true"}))["results"]
    tags = {t["name"] for t in results["Tag"]}
    assert {'misp-galaxy:threat-actor="APT28"', 'misp-galaxy:threat-actor="APT29"'} <= tags


def test_suggestions_are_reported_untagged_by_default(payload: Payload) -> None:
    results = module.dict_handler(payload(value="ScarKruft"))["results"]
    assert "Tag" not in results
    assert results["Object"][0]["Attribute"][0]["value"] == "APT37"
    assert "Suggestion" in results["Object"][0]["comment"]


def test_suggestions_can_be_switched_off_or_tagged(payload: Payload) -> None:
    assert module.dict_handler(payload(value="ScarKruft", config={"suggestions": "0"})) == {"results": {}}
    results = module.dict_handler(payload(value="ScarKruft", config={"tag_suggestions_above": "0.8"}))["results"]
    assert 'misp-galaxy:threat-actor="APT37"' in {t["name"] for t in results["Tag"]}


def test_automated_paths_never_save_untagged_candidates(payload: Payload) -> None:
    for name in ("c1_enrich_event_rest_or_workflow_unfiltered.json", "d_workflow_attach_enrichment.json"):
        assert module.dict_handler(payload(name, value="Grizzly Steppe")) == {"results": {}}


def test_legacy_handler_takes_bytes(payload: Payload) -> None:
    body = module.handler(json.dumps(payload()).encode())
    assert body["results"]["Object"]


# --- bad input --------------------------------------------------------------------

def _without(data: dict[str, Any], *path: str) -> dict[str, Any]:
    data = copy.deepcopy(data)
    target = data
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return data


@pytest.mark.parametrize(("mutate", "says"), [
    (lambda p: _without(p, "attribute"), "missing 'attribute'"),
    (lambda p: {**p, "attribute": "Reaper"}, "attribute: must be an object, not str"),
    (lambda p: {**p, "attribute": ["Reaper"]}, "attribute: must be an object, not list"),
    (lambda p: _without(_without(p, "attribute", "value"), "attribute", "value1"), "attribute.value: missing"),
    (lambda p: {**p, "attribute": {**p["attribute"], "value": ""}}, "attribute.value: is empty"),
    (lambda p: {**p, "attribute": {**p["attribute"], "value": "   "}}, "attribute.value: is empty"),
    (lambda p: {**p, "attribute": {**p["attribute"], "value": 37}}, "attribute.value: must be a string, not int"),
    (lambda p: {**p, "attribute": {**p["attribute"], "value": None, "value1": None}}, "attribute.value: missing"),
    (lambda p: {**p, "attribute": {**p["attribute"], "value": "x" * 600}}, "600 characters"),
    (lambda p: {**p, "attribute": {**p["attribute"], "type": "ip-src"}},
     "unsupported type 'ip-src'; actor_enrich accepts threat-actor, text, comment attributes and intrusion-set objects"),
    (lambda p: _without(p, "attribute", "type"), "attribute.type: missing"),
    (lambda p: {**p, "attribute": {**p["attribute"], "uuid": "not-a-uuid"}}, "attribute.uuid: is not a UUID"),
    (lambda p: {**p, "config": {"tag_ambiguous": "maybe"}}, "config.tag_ambiguous: expected a boolean"),
    (lambda p: {**p, "config": {"max_links": "-1"}}, "config.max_links: expected 0 to 50"),
    (lambda p: {**p, "config": {"max_links": "lots"}}, "config.max_links: expected a whole number"),
    (lambda p: {**p, "config": {"tag_suggestions_above": "1.5"}}, "config.tag_suggestions_above"),
    (lambda p: {**p, "config": {"galaxy_types": "threat actor!"}}, "config.galaxy_types"),
    (lambda p: {**p, "config": {"api_key": "x"}}, "config.api_key: unknown setting"),
    (lambda p: {**p, "config": "galaxy_types=threat-actor"}, "config: must be an object"),
    (lambda p: {**p, "config": {"suggestions": ["1"]}}, "config.suggestions: must be a string, not list"),
])
def test_bad_input_gets_a_clear_error(payload: Payload, mutate: Callable[[dict[str, Any]], Any], says: str) -> None:
    body = module.dict_handler(mutate(payload()))
    assert set(body) == {"error"} and says in body["error"], body


@pytest.mark.parametrize(("request_body", "says"), [
    (b"{not json", "request is not valid JSON"),
    (b"", "empty request"),
    (b"[1, 2]", "the request must be a JSON object, not list"),
    (b"\xff\xfe", "request is not valid JSON"),
])
def test_malformed_requests(request_body: bytes, says: str) -> None:
    body = module.handler(request_body)
    assert set(body) == {"error"} and says in body["error"]


def test_a_non_dict_request_through_dict_handler() -> None:
    assert module.dict_handler(None) == {"error": "the request must be a JSON object, not NoneType"}


def test_unsupported_objects_are_refused(payload: Payload) -> None:
    data = payload("e_object_enrichment.json")
    data["object"]["name"] = "file"
    assert "unsupported object 'file'" in module.dict_handler(data)["error"]


@pytest.mark.parametrize("name", REQUEST_PAYLOADS)
@pytest.mark.parametrize("value", ["Reaper", "Not An Actor", "Grizzly Steppe"])
def test_an_unknown_galaxy_type_is_the_answer_to_every_query(payload: Payload, name: str, value: str) -> None:
    """A typo in MISP's plugin setting would otherwise tag nothing, silently: every answer says so."""
    config = {"galaxy_types": "threat-actr, mitre-intrusion-set", "include_aliases_as_attributes": None}
    data = payload(name, config=config)
    if "attribute" in data:
        data["attribute"]["value"] = value
    body = module.dict_handler(data)
    assert body == {"error": "config.galaxy_types: unknown galaxy type 'threat-actr' (did you mean 'threat-actor'?); "
                             "the actor galaxies in the data in use are 360net-threat-actor, groups, "
                             "microsoft-activity-group, mitre-ics-groups, mitre-intrusion-set, ransomware, threat-actor"}


def test_galaxy_types_limit_the_tags(payload: Payload) -> None:
    tags = {t["name"] for t in module.dict_handler(payload(config={"galaxy_types": "mitre-intrusion-set"}))
            ["results"]["Tag"]}
    assert tags == {'misp-galaxy:mitre-intrusion-set="APT37 - G0067"'}


def test_settings_are_parsed_once_per_distinct_config() -> None:
    config = {"galaxy_types": "threat-actor", "max_links": "2", "tag_ambiguous": None}
    first = module.settings_for(config)
    assert module.settings_for(dict(config)) is first
    assert module.settings_for({**config, "max_links": "3"}).max_links == 3
    with pytest.raises(ConfigError, match="config.suggestions: must be a string, not list"):
        module.settings_for({"suggestions": ["1"]})          # unhashable: parsed uncached, refused the same way


def test_null_and_empty_config_values_mean_defaults(payload: Payload) -> None:
    config = {key: None for key in MODULE_CONFIG} | {"galaxy_types": ""}
    assert "Tag" in module.dict_handler(payload(config=config))["results"]


@pytest.mark.parametrize("shape", ["Tag", "AttributeTag", "_allTags"])
def test_input_tags_in_any_shape_are_read(payload: Payload, shape: str) -> None:
    data = payload()
    tag = {"id": "9", "name": 'misp-galaxy:threat-actor="APT37"', "colour": "#0088cc"}
    data["attribute"][shape] = [{"id": "1", "Tag": tag}] if shape == "AttributeTag" else [tag]
    data["attribute"]["Tag" if shape != "Tag" else "_allTags"] = [None, {"name": 5}, "junk"]
    assert module.input_tags(data["attribute"]) == ('misp-galaxy:threat-actor="APT37"',)
    assert module.dict_handler(data)["results"]["Object"]


def test_an_unexpected_failure_is_reported_without_a_traceback(payload: Payload, monkeypatch: pytest.MonkeyPatch) -> None:
    from misp_actor_enrich.data import runtime

    def broken() -> None:
        raise AttributeError("boom")

    monkeypatch.setattr(runtime, "current", broken)
    body = module.dict_handler(payload())
    assert body == {"error": "actor_enrich failed unexpectedly (AttributeError); see the misp-modules log"}


def test_importing_the_module_file_builds_nothing() -> None:
    import subprocess
    import sys

    code = ("import sys, misp_actor_enrich.misp.module as m; "
            "m.version(); m.introspection(); "
            "assert 'misp_actor_enrich.data.runtime' not in sys.modules, 'data loading started'; "
            "assert 'pymisp' not in sys.modules, 'pymisp imported'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parent)


def _uuids(results: dict[str, Any]) -> set[str]:
    found = {a["uuid"] for a in results.get("Attribute", [])}
    for obj in results.get("Object", []):
        found.add(obj["uuid"])
        found.update(a["uuid"] for a in obj["Attribute"])
        found.update(r["uuid"] for r in obj.get("ObjectReference", []) if "uuid" in r)
    return found


def test_each_answer_has_fresh_uuids_and_consistent_references(payload: Payload) -> None:
    first = module.dict_handler(payload())["results"]
    second = module.dict_handler(payload())["results"]
    assert not _uuids(first) & _uuids(second)
    for results in (first, second):
        intrusion_set, victim = results["Object"]
        targets = [r["referenced_uuid"] for r in intrusion_set["ObjectReference"] if r["relationship_type"] == "targets"]
        assert targets == [victim["uuid"]]
    without_uuid = payload()
    del without_uuid["attribute"]["uuid"]
    results = module.dict_handler(without_uuid)["results"]
    intrusion_set, victim = results["Object"]
    canonical = results["Attribute"][0]
    # No input to point at: the object names the canonical attribute and the victim, both in this answer.
    assert [(r["relationship_type"], r["referenced_uuid"]) for r in intrusion_set["ObjectReference"]] == [
        ("related-to", canonical["uuid"]), ("targets", victim["uuid"])]
