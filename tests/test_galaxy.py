"""Reading cluster files as they really are: strings vs lists, repeats, empty names, bad entries."""

import json

import pytest
from conftest import MINI_GALAXY, load_payload  # noqa: F401

from misp_actor_enrich.core.galaxy import (
    attack_ids,
    check_document,
    cluster_from_entry,
    clusters_from_document,
    galaxy_info,
    is_actor_galaxy,
    skipped_entries,
)
from misp_actor_enrich.data.store import load_galaxies


def _document(name: str) -> dict:
    return json.loads((MINI_GALAXY / "clusters" / f"{name}.json").read_text())


def test_meta_fields_become_tuples_of_strings_whatever_their_shape() -> None:
    clusters = {c.value: c for c in clusters_from_document(_document("threat-actor"))}
    weird = clusters["Weird Actor"]
    assert weird.synonyms == ("Weirdo",)                   # a string where a list is usual
    assert weird.refs == ("https://example.org/weird",)
    assert "country" not in weird.meta                     # null dropped
    apt37 = clusters["APT37"]
    assert apt37.meta["cfr-type-of-incident"] == ("Espionage",)
    assert apt37.synonyms.count("Reaper") == 1              # repeats removed
    assert apt37.refs == ("https://example.org/apt37-report", "not-a-url")


def test_names_that_normalise_to_nothing_are_dropped_and_values_cleaned() -> None:
    clusters = {c.value: c for c in clusters_from_document(_document("threat-actor"))}
    assert clusters["Sandworm"].synonyms == ("Voodoo Bear",)


def test_malformed_entries_are_skipped_and_said() -> None:
    document = _document("threat-actor")
    clusters = clusters_from_document(document)
    assert [c.value for c in clusters].count("APT37") == 1
    assert skipped_entries(document) == 2  # no value; not an object
    assert cluster_from_entry("threat-actor", {"value": "   ", "uuid": "x"}) is None
    check = check_document(document)
    assert check.refusals == () and len(check.warnings) == 1
    assert check.warnings[0].startswith("2 broken entries skipped (not an object, or no value or uuid), first at index ")


def test_a_uuid_used_twice_refuses_the_file() -> None:
    """Which of the two MISP keeps is not ours to guess: APT37 lost its tag when the other won."""
    document = _document("threat-actor")
    document["values"].insert(0, {"uuid": "10000000-0000-4000-8000-000000000037", "value": "Not APT37"})
    assert check_document(document).refusals == (
        "uuid 10000000-0000-4000-8000-000000000037 is used twice ('Not APT37' and 'APT37')",)


@pytest.mark.parametrize(("entry", "says"), [
    (None, "20001 clusters; at most 20000 are read from one file"),
    ({"meta": {"synonyms": [f"n{i}" for i in range(600)]}}, "'X' has 601 names; at most 500"),
    ({"description": "x" * 20_001}, "'X' has a 20001-character description; at most 20000"),
    ({"meta": {"refs": ["https://e.org"] * 6000}}, "'X' has 6000 refs and relations; at most 5000"),
])
def test_a_file_past_the_limits_is_refused(entry: dict[str, object] | None, says: str) -> None:
    if entry is None:
        values: list[dict[str, object]] = [{"uuid": f"{i:08d}-0000-4000-8000-000000000000", "value": f"A{i}"}
                                           for i in range(20_001)]
    else:
        values = [{"uuid": "00000000-0000-4000-8000-000000000001", "value": "X", **entry}]
    assert check_document({"type": "threat-actor", "values": values}).refusals == (says,)


def test_revoked_clusters_are_marked_deprecated() -> None:
    clusters = {c.value: c for c in clusters_from_document(_document("mitre-intrusion-set"))}
    assert clusters["Old Name - G0999"].deprecated
    assert not clusters["APT37 - G0067"].deprecated


def test_attack_ids_from_ids_fields_values_and_synonyms() -> None:
    ta = {c.value: c for c in clusters_from_document(_document("threat-actor"))}
    mitre = {c.value: c for c in clusters_from_document(_document("mitre-intrusion-set"))}
    assert attack_ids(mitre["APT37 - G0067"]) == ("G0067",)
    assert attack_ids(ta["Lazarus Group"]) == ("G0032", "G0082")


def test_cluster_tag_and_name() -> None:
    mitre = {c.value: c for c in clusters_from_document(_document("mitre-intrusion-set"))}
    assert mitre["APT37 - G0067"].tag == 'misp-galaxy:mitre-intrusion-set="APT37 - G0067"'
    assert mitre["APT37 - G0067"].name == "APT37"


def test_only_live_actor_galaxies_are_loaded() -> None:
    files = load_galaxies(MINI_GALAXY, lambda info: is_actor_galaxy(info) and not info.deprecated)
    assert sorted(f.info.type for f in files) == ["microsoft-activity-group", "mitre-intrusion-set", "threat-actor"]


def test_galaxy_info_reads_deprecation_from_the_definition() -> None:
    info = galaxy_info(_document("mitre-enterprise-attack-intrusion-set"), {"namespace": "deprecated"})
    assert info.deprecated and info.category == "actor" and info.version == 2


def test_clusters_retired_by_name_are_deprecated() -> None:
    cluster = cluster_from_entry("groups", {"value": "APT42 (Deprecated)", "uuid": "A-1"})
    assert cluster is not None and cluster.deprecated and cluster.uuid == "a-1"


def test_an_instance_tag_name_is_kept_and_used() -> None:
    entry = {"value": "Our Actor", "uuid": "5f0e6c1a-0000-4000-8000-000000000001",
             "tag_name": 'misp-galaxy:threat-actor="5f0e6c1a-0000-4000-8000-000000000001"'}
    cluster = cluster_from_entry("threat-actor", entry)
    assert cluster is not None and cluster.tag == entry["tag_name"]
    odd = cluster_from_entry("threat-actor", {**entry, "tag_name": "not a galaxy tag"})
    assert odd is not None and odd.tag == 'misp-galaxy:threat-actor="Our Actor"'
