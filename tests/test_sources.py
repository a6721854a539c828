"""Source adapters: cluster-file checks, ATT&CK's STIX bundle, and the MISP instance's galaxies.

The instance source runs PyMISP over HTTP against tests/misp_standin.py, a loopback
stand-in (not MISP) answering ``galaxies/index`` and ``galaxies/view/{id}`` with the
shapes MISP's GalaxiesController returns (fixtures/update/misp/).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Iterator

import pytest
from misp_standin import KEY, StandIn

from misp_actor_enrich.core.errors import DataError
from misp_actor_enrich.data.sources import (
    InUse,
    attack_groups,
    check_cluster_document,
    check_definition,
    connect_instance,
    document_from_views,
    from_instance,
    merge_attack,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
UPDATE = FIXTURES / "update"
MINI = FIXTURES / "galaxy"


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def mini_in_use() -> InUse:
    names = ("threat-actor", "mitre-intrusion-set", "sector", "target-information")
    return InUse(MINI, None, "fixture", {n: load(MINI / "clusters" / f"{n}.json") for n in names},
                 {n: load(MINI / "galaxies" / f"{n}.json") for n in names})


# --- cluster files --------------------------------------------------------------------------


def test_a_good_cluster_file_passes() -> None:
    check_cluster_document(load(UPDATE / "misp-galaxy/clusters/threat-actor.json"), "threat-actor", 10,
                           force=False, where="x")


@pytest.mark.parametrize("change, message", [
    (lambda d: d.update(values={}), "no 'values' list"),
    (lambda d: d.update(values=[]), "no 'values' list"),
    (lambda d: d.update(values=["a", "b", d["values"][0]]), "2 of 3 values lack a 'value' or 'uuid'"),
    (lambda d: d.update(type="botnet"), "galaxy type is 'botnet', expected 'threat-actor'"),
    (lambda d: d.pop("type"), "no 'type'"),
    (lambda d: d.update(version="11"), "'version' is not a whole number"),
    (lambda d: d.update(version=9), r"version 9 is older than the version in use \(10\); --force accepts it"),
])
def test_bad_cluster_files_are_refused(change: Any, message: str) -> None:
    document = load(UPDATE / "misp-galaxy/clusters/threat-actor.json")
    change(document)
    with pytest.raises(DataError, match=message):
        check_cluster_document(document, "threat-actor", 10, force=False, where="x")


def test_force_accepts_an_older_version() -> None:
    document = {**load(UPDATE / "misp-galaxy/clusters/threat-actor.json"), "version": 1}
    check_cluster_document(document, "threat-actor", 10, force=True, where="x")


def test_definition_type_must_match() -> None:
    assert check_definition({"type": "sector", "name": "Sector"}, None, where="x") == "sector"
    with pytest.raises(DataError, match="galaxy type is 'sector', expected 'threat-actor'"):
        check_definition({"type": "sector", "name": "Sector"}, "threat-actor", where="x")
    with pytest.raises(DataError, match="not a misp-galaxy galaxy definition"):
        check_definition({"values": []}, None, where="x")


# --- ATT&CK ----------------------------------------------------------------------------------------


def test_attack_groups_are_misp_galaxy_values() -> None:
    values, version = attack_groups(load(UPDATE / "attack/enterprise-attack.json"))
    assert version == "15.1"
    assert [v["value"] for v in values] == ["APT37 - G0067", "Moonstone Sleet - G1036"]   # revoked/deprecated skipped
    apt37 = values[0]
    assert apt37["uuid"] == "20000000-0000-4000-8000-000000000067"
    assert apt37["meta"]["external_id"] == ["G0067"]
    assert apt37["meta"]["refs"] == ["https://attack.mitre.org/groups/G0067", "https://example.org/fireeye-apt37"]
    assert apt37["meta"]["synonyms"][:3] == ["APT37", "InkySquid", "ScarCruft"]


@pytest.mark.parametrize("bundle, message", [
    ({"type": "x", "objects": []}, "not a STIX bundle"),
    ({"type": "bundle"}, "not a STIX bundle"),
    ({"type": "bundle", "objects": [{"type": "malware"}]}, "no usable intrusion-set"),
])
def test_not_an_attack_bundle(bundle: dict[str, Any], message: str) -> None:
    with pytest.raises(DataError, match=message):
        attack_groups(bundle)


def test_merge_updates_by_uuid_adds_new_groups_and_keeps_values() -> None:
    document = load(MINI / "clusters/mitre-intrusion-set.json")
    values, _ = attack_groups(load(UPDATE / "attack/enterprise-attack.json"))
    merged, counts = merge_attack(document, values)
    assert (counts.updated, counts.added, counts.left_out) == (1, 1, 0)
    by_value = {v["value"]: v for v in merged["values"]}
    apt37 = by_value["APT37 - G0067"]                  # the value (the tag MISP knows) is untouched
    assert apt37["meta"]["synonyms"][:2] == ["APT37", "InkySquid"]   # existing order first
    assert {"TEMP.Reaper", "Ricochet Chollima"} <= set(apt37["meta"]["synonyms"])
    assert "Moonstone Sleet - G1036" in by_value and "Old Name - G0999" in by_value   # nothing removed
    assert merged["version"] == document["version"]
    assert merge_attack(merged, values)[0] == merged   # idempotent
    _, instance_counts = merge_attack(document, values, add_new=False)
    assert (instance_counts.added, instance_counts.left_out) == (0, 1)


# --- the MISP instance -------------------------------------------------------------------------------


@pytest.fixture
def misp() -> Iterator[StandIn]:
    with StandIn() as standin:
        standin.add_galaxy(load(UPDATE / "misp/galaxy_view_12.json"))
        botnet = load(UPDATE / "misp/galaxies_index.json")[1]
        standin.add_galaxy({**botnet, "GalaxyCluster": []})
        yield standin


def test_instance_galaxies_become_cluster_documents(misp: StandIn) -> None:
    client = connect_instance(misp.url, KEY, False, 5)
    result = from_instance(client, misp.url, {"threat-actor", "sector"}, mini_in_use(), key=KEY)
    assert result.problems == ()
    assert [f.relpath for f in result.files] == ["galaxies/threat-actor.json", "clusters/threat-actor.json"]
    assert result.notes == ("the instance has no sector galaxy; those files come from the other sources",)
    document = result.files[1].document
    assert document is not None
    check_cluster_document(document, "threat-actor", None, force=False, where="instance")
    values = {v["value"]: v for v in document["values"]}
    assert sorted(values) == ["APT37", "Harbour Crew", "Lazarus Group"]          # the deleted cluster is gone
    crew = values["Harbour Crew"]
    assert crew["tag_name"] == 'misp-galaxy:threat-actor="a1b2c3d4-0000-4000-8000-00000000c0de"'
    assert crew["meta"] == {"synonyms": ["Dockside Spider"], "country": ["XX"]}
    assert values["APT37"]["related"] == [{"dest-uuid": "20000000-0000-4000-8000-000000000067", "type": "similar"}]
    assert document["version"] == 10 and document["category"] == "actor"   # default clusters' version
    paths = [c.path for c in misp.calls]
    assert paths[-2:] == ["/galaxies/index", "/galaxies/view/12"]             # botnet is never fetched


def test_relations_from_misp_win_over_the_base() -> None:
    view = load(UPDATE / "misp/galaxy_view_12.json")
    cluster = copy.deepcopy(view["GalaxyCluster"][0])
    cluster["GalaxyClusterRelation"] = [{"referenced_galaxy_cluster_uuid": "20000000-0000-4000-8000-000000000999",
                                         "referenced_galaxy_cluster_type": "similar"}]
    _, document = document_from_views([{**view, "GalaxyCluster": [cluster]}], base=None, source_url="https://m")
    assert document["values"][0]["related"] == [{"dest-uuid": "20000000-0000-4000-8000-000000000999",
                                                 "type": "similar"}]


def test_instance_errors_are_problems_without_the_key(misp: StandIn) -> None:
    client = connect_instance(misp.url, KEY, False, 5)
    misp.fail_on(lambda call: call.path.startswith("/galaxies/view"), "500", times=1)
    result = from_instance(client, misp.url, {"threat-actor"}, mini_in_use(), key=KEY)
    assert result.files == () and len(result.problems) == 1
    assert "galaxies/view/12" in str(result.problems[0]) and KEY not in str(result.problems[0])
    with pytest.raises(DataError) as caught:
        connect_instance(misp.url, "wrong-" + KEY, False, 5)
    assert KEY not in str(caught.value)
