"""enrichEvent and workflow requests (c1, c2, d), and tags the analyst already put on the attribute."""

from __future__ import annotations

from typing import Any, Callable

import pytest
from misp_checks import check_misp_standard

from misp_actor_enrich.misp import module

Payload = Callable[..., dict[str, Any]]
INPUT_UUID = "9f2b7c1e-4d3a-4e8b-a6c5-2f1e0d9c8b7a"
APT28 = 'misp-galaxy:threat-actor="APT28"'
APT37 = 'misp-galaxy:threat-actor="APT37"'
C1 = "c1_enrich_event_rest_or_workflow_unfiltered.json"
C2 = "c2_enrich_event_workflow_filtered.json"
D = "d_workflow_attach_enrichment.json"
D_NO_CONFIG = "d_workflow_attach_enrichment_module_without_config.json"


def _event_tags(body: dict[str, Any]) -> set[str]:
    return {t["name"] for t in body["results"].get("Tag", [])}


@pytest.mark.parametrize("name", [C1, C2, D, D_NO_CONFIG])
def test_automated_paths_get_event_tags_and_objects_without_echo(payload: Payload, name: str) -> None:
    body = module.dict_handler(payload(name))
    check_misp_standard(body, input_uuid=INPUT_UUID)
    assert APT37 in _event_tags(body)
    assert all(a["value"] != "Reaper" or a["type"] != "threat-actor" for a in body["results"]["Attribute"])


@pytest.mark.parametrize("name", [C1, C2, D, D_NO_CONFIG])
def test_automated_paths_no_match_is_empty(payload: Payload, name: str) -> None:
    assert module.dict_handler(payload(name, value="Not A Known Actor")) == {"results": {}}


def _tag_attribute(data: dict[str, Any], shape: str, name: str, *, inherited: bool = False) -> None:
    tag = {"id": "77", "name": name, "colour": "#0088cc", "is_galaxy": True, "local": False}
    attribute = data["attribute"]
    if shape == "AttributeTag":
        attribute.setdefault("AttributeTag", []).append({"id": "1", "tag_id": "77", "Tag": tag})
    elif shape == "Tag":
        attribute.setdefault("Tag", []).append(tag)
    else:
        attribute.setdefault("_allTags", []).append({**tag, "inherited": inherited})


@pytest.mark.parametrize(("name", "shape"), [(C1, "AttributeTag"), (D, "Tag"), (D, "_allTags"), (C2, "Tag")])
def test_an_existing_actor_tag_is_the_analysts_decision(payload: Payload, name: str, shape: str) -> None:
    data = payload(name)
    _tag_attribute(data, shape, APT28)
    body = module.dict_handler(data)
    check_misp_standard(body, input_uuid=INPUT_UUID)
    tags = _event_tags(body)
    assert APT28 in tags and APT37 not in tags
    comment = body["results"]["Object"][0]["comment"]
    assert "already tagged" in comment and "APT28" in comment


def test_the_tag_can_name_a_cluster_of_another_galaxy_by_value_case(payload: Payload) -> None:
    data = payload(C1)
    _tag_attribute(data, "AttributeTag", 'misp-galaxy:mitre-intrusion-set="apt28 - g0007"')
    assert APT28 in _event_tags(module.dict_handler(data))


def test_event_tags_inherited_in_all_tags_are_not_the_attributes(payload: Payload) -> None:
    data = payload(D)
    _tag_attribute(data, "_allTags", APT28, inherited=True)
    tags = _event_tags(module.dict_handler(data))
    assert APT37 in tags and APT28 not in tags


def test_an_unknown_actor_tag_means_we_tag_nothing(payload: Payload) -> None:
    private = 'misp-galaxy:threat-actor="Our Private Actor"'
    for name in (C1, D):
        data = payload(name)
        _tag_attribute(data, "AttributeTag" if name == C1 else "Tag", private)
        assert module.dict_handler(data) == {"results": {}}
    ui = payload("a_ui_attribute_enrichment.json")
    _tag_attribute(ui, "Tag", private)
    body = module.dict_handler(ui)
    assert "Tag" not in body["results"]
    assert not any(a.get("Tag") for o in body["results"]["Object"] for a in o["Attribute"] if a["object_relation"] == "name")


def test_non_actor_galaxy_tags_are_ignored(payload: Payload) -> None:
    data = payload(C1)
    _tag_attribute(data, "AttributeTag", 'misp-galaxy:malpedia="IoT Reaper"')
    _tag_attribute(data, "AttributeTag", "tlp:amber")
    assert APT37 in _event_tags(module.dict_handler(data))


def test_two_tagged_actors_are_both_kept(payload: Payload) -> None:
    data = payload(D)
    _tag_attribute(data, "Tag", APT28)
    _tag_attribute(data, "Tag", APT37)
    tags = _event_tags(module.dict_handler(data))
    assert {APT28, APT37} <= tags


def test_our_own_reach_tag_read_back_is_not_a_second_decision(payload: Payload) -> None:
    # What we answer for "Anunak": Carbanak's clusters plus threat-actor FIN7, which Carbanak is filed under.
    data = payload(D, value="Carbanak")
    _tag_attribute(data, "Tag", 'misp-galaxy:mitre-intrusion-set="Carbanak - G0008"')
    _tag_attribute(data, "Tag", 'misp-galaxy:threat-actor="FIN7"')
    body = module.dict_handler(data)
    names = [o["Attribute"][0]["value"] for o in body["results"]["Object"] if o["name"] == "intrusion-set"]
    assert names == ["Carbanak"]
