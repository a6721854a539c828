"""One enrichment stays readable: a detail budget, the best-supported content first, and no feeding on
the module's own output on MISP's automated paths."""

from __future__ import annotations

import copy
from typing import Any, Callable

import pytest
from misp_checks import all_attributes, check_misp_standard

from misp_actor_enrich.core.knowledge import Knowledge
from misp_actor_enrich.misp import module

Payload = Callable[..., dict[str, Any]]
INPUT_UUID = "9f2b7c1e-4d3a-4e8b-a6c5-2f1e0d9c8b7a"
DEFAULT = {"include_aliases_as_attributes": None}   # the payloads set it; these tests want MISP's defaults


def _count(body: dict[str, Any]) -> int:
    return sum(1 for _ in all_attributes(body["results"]))


def _names_of_actors(bundled: Knowledge) -> list[str]:
    return [actor.name for actor in bundled.actors]


def test_no_actor_gets_more_than_34_attributes_by_default(payload: Payload, bundled: Knowledge) -> None:
    """Every actor in the data, by its own name and through the UI path: the default budget holds."""
    request = payload(config=DEFAULT)
    largest = (0, "")
    for name in _names_of_actors(bundled):
        query = copy.deepcopy(request)
        query["attribute"]["value"] = name
        body = module.dict_handler(query)
        count = _count(body) if body.get("results") else 0
        largest = max(largest, (count, name))
    assert 30 <= largest[0] <= 34, largest     # README "What one enrichment adds"


@pytest.mark.parametrize("name", ["APT28", "Turla", "Lazarus Group"])
def test_a_heavy_actor_is_summarised_and_says_so(payload: Payload, name: str) -> None:
    body = module.dict_handler(payload(value=name, config=DEFAULT))
    check_misp_standard(body, input_uuid=INPUT_UUID)
    assert _count(body) <= 50
    intrusion_set = body["results"]["Object"][0]
    relations = [a["object_relation"] for a in intrusion_set["Attribute"]]
    assert relations[:2] == ["name", "description"]        # the actor first, then what it is
    assert relations.count("aliases") == 8
    assert "set actor_enrich's detail to full for all" in intrusion_set["comment"]
    assert "aliases" in intrusion_set["comment"] and "places" in intrusion_set["comment"]


def test_full_detail_is_one_setting_away(payload: Payload, bundled: Knowledge) -> None:
    summary = module.dict_handler(payload(value="APT28", config=DEFAULT))
    full = module.dict_handler(payload(value="APT28", config={**DEFAULT, "detail": "full"}))
    check_misp_standard(full, input_uuid=INPUT_UUID)
    actor = bundled.resolve("APT28").candidates[0].actor
    aliases = [a["value"] for a in full["results"]["Object"][0]["Attribute"] if a["object_relation"] == "aliases"]
    assert sorted(aliases) == sorted(actor.aliases)
    targeting = bundled.targeting(actor)
    victim = next(o for o in full["results"]["Object"] if o["name"] == "victim")
    assert len(victim["Attribute"]) == len(targeting.victims)
    assert _count(full) > _count(summary) and "Shows" not in full["results"]["Object"][0]["comment"]


def test_targets_with_the_most_sources_come_first(payload: Payload, bundled: Knowledge) -> None:
    body = module.dict_handler(payload(value="APT28", config=DEFAULT))
    victim = next(o for o in body["results"]["Object"] if o["name"] == "victim")
    targeting = bundled.targeting(bundled.resolve("APT28").candidates[0].actor)
    support = {i.value: i.support for i in (*targeting.countries, *targeting.regions, *targeting.domestic)}
    shown = [support[a["value"]] for a in victim["Attribute"] if a["object_relation"] == "regions"]
    assert shown == sorted(shown, reverse=True) and shown[0] == max(support.values())
    assert len(shown) == 8 < len(support)


def test_an_invalid_detail_is_an_error_naming_the_setting(payload: Payload) -> None:
    body = module.dict_handler(payload(config={**DEFAULT, "detail": "everything"}))
    assert body == {"error": "config.detail: expected summary or full, got 'everything'"}


def test_a_text_naming_many_actors_stays_bounded(payload: Payload, bundled: Knowledge) -> None:
    names = ["APT28", "APT29", "Turla", "Lazarus Group", "Kimsuky", "APT37", "APT41", "FIN7", "Sandworm Team",
             "OilRig", "MuddyWater", "Charming Kitten", "Gamaredon Group", "TA505", "Wizard Spider"]
    text = "Threat actors seen this year: " + ", ".join(names) + "."
    query = payload(value=text, config=DEFAULT)
    query["attribute"]["type"] = "text"
    body = module.dict_handler(query)
    check_misp_standard(body, input_uuid=INPUT_UUID)
    results = body["results"]
    sets = [o for o in results["Object"] if o["name"] == "intrusion-set"]
    assert len(sets) == 5 and _count(body) <= 5 * 50
    assert "more actors named (" in sets[-1]["comment"] and "only their galaxy tags are in this answer" in sets[-1]["comment"]
    # Every actor found still has its clusters attached to the event.
    threat_actor_tags = {t["name"] for t in results["Tag"] if t["name"].startswith("misp-galaxy:threat-actor=")}
    assert len(threat_actor_tags) >= 12


def test_an_actor_looks_the_same_alone_or_in_a_text(payload: Payload) -> None:
    """The same objects whatever else the answer holds, so MISP reuses them on a later run."""
    def content(body: dict[str, Any], actor: str) -> list[list[tuple[str, str]]]:
        out = []
        for obj in body["results"]["Object"]:
            pairs = [(a["object_relation"], a["value"]) for a in obj["Attribute"]]
            if obj["name"] == "victim" or ("name", actor) in pairs:
                out.append(pairs)
        return out

    alone = module.dict_handler(payload(value="APT37", config=DEFAULT))
    query = payload(value="Reports name APT37 next to the Lazarus Group and Kimsuky.", config=DEFAULT)
    query["attribute"]["type"] = "text"
    in_text = module.dict_handler(query)
    apt37 = [o for o in content(in_text, "APT37")]
    assert all(objects in apt37 for objects in content(alone, "APT37"))


def test_alias_attributes_carry_the_actors_tags(payload: Payload) -> None:
    """A later run resolves each alias attribute by its tags, so it cannot pull in another actor."""
    body = module.dict_handler(payload(value="Reaper", config={"include_aliases_as_attributes": "1"}))
    aliases = [a for a in body["results"]["Attribute"] if a["comment"].startswith("Alias of APT37")]
    assert aliases and all('misp-galaxy:threat-actor="APT37"' in {t["name"] for t in a["Tag"]} for a in aliases)


def test_the_intrusion_set_names_the_canonical_attribute(payload: Payload) -> None:
    results = module.dict_handler(payload(value="Reaper", config=DEFAULT))["results"]
    canonical = next(a for a in results["Attribute"] if a["type"] == "threat-actor")
    intrusion_set = results["Object"][0]
    related = {r["referenced_uuid"] for r in intrusion_set["ObjectReference"] if r["relationship_type"] == "related-to"}
    assert related == {INPUT_UUID, canonical["uuid"]}


@pytest.mark.parametrize("payload_file", ["c1_enrich_event_rest_or_workflow_unfiltered.json",
                                          "d_workflow_attach_enrichment.json"])
def test_automated_paths_never_scan_text_inside_objects(payload: Payload, payload_file: str) -> None:
    """enrichEvent sends an intrusion-set's description too: it names other actors, never read."""
    description = "Wizard Spider overlaps with LUNAR SPIDER and uses TrickBot; see also APT28."
    query = payload(payload_file, value=description)
    query["attribute"].update(type="text", category="Other", object_id="12", object_relation="description")
    assert module.dict_handler(query) == {"results": {}}
    standalone = payload(payload_file, value=description)
    standalone["attribute"].update(type="text", category="Other")
    assert module.dict_handler(standalone)["results"]       # an analyst's own text attribute is still read


def test_the_ui_still_scans_text_inside_an_object_on_request(payload: Payload) -> None:
    query = payload(value="The report attributes it to APT28.")
    query["attribute"].update(type="text", category="Other", object_id="12", object_relation="description")
    assert module.dict_handler(query)["results"]


def test_a_summary_shows_each_name_once(payload: Payload) -> None:
    """"Group 123" beside "Group123", or "APT 37" beside APT37, is one name to a reader."""
    from misp_actor_enrich.core.names import normalise

    summary = module.dict_handler(payload(value="Reaper", config=DEFAULT))["results"]["Object"][0]
    keys = [normalise(a["value"]) for a in summary["Attribute"] if a["object_relation"] in ("name", "aliases")]
    assert len(keys) == len(set(keys))
    full = module.dict_handler(payload(value="Reaper", config={**DEFAULT, "detail": "full"}))["results"]["Object"][0]
    spellings = {a["value"] for a in full["Attribute"] if a["object_relation"] == "aliases"}
    assert {"Group123", "Group 123", "APT 37"} <= spellings      # MISP correlates exact values


def test_the_actors_own_country_is_shown_as_home_not_as_a_victim(payload: Payload, bundled: Knowledge) -> None:
    """APT15's home, China, is only kept because a source says it attacked there; the answer says so."""
    actor = bundled.resolve("APT15").candidates[0].actor
    home = [i.value for i in bundled.targeting(actor).domestic]
    assert home == ["China"]
    full = module.dict_handler(payload(value="APT15", config={**DEFAULT, "detail": "full"}))
    victim = next(o for o in full["results"]["Object"] if o["name"] == "victim")
    china = [a for a in victim["Attribute"] if a["value"] == "China"]
    assert len(china) == 1 and china[0]["comment"].startswith("At home (the actor's own country): From ")
