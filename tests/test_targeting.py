"""Targeting: field interpretation, provenance merging, and origin-vs-victim in descriptions."""

from __future__ import annotations

from typing import Any, Iterator

import pytest
import sentence_set
import yaml
from conftest import FIXTURES

from misp_actor_enrich.core.galaxy import clusters_from_document
from misp_actor_enrich.core.knowledge import Knowledge
from misp_actor_enrich.core.models import Cluster, Source, Targeting, TargetItem
from misp_actor_enrich.core.targeting import (
    Coverage,
    coverage,
    read_description,
    targeting_for,
)
from misp_actor_enrich.core.vocabulary import Vocabulary
from misp_actor_enrich.data.store import bundled_data_dir, load_cluster_file

UNDERSCORE_KEYS = {"observed_countries", "observed_motivations", "target_categories"}   # tidal spells them so


def cluster(galaxy: str, value: str, description: str = "", **meta: str | tuple[str, ...]) -> Cluster:
    """A Cluster as the galaxy reader makes it; keyword ``cfr_target_category`` is meta ``cfr-target-category``."""
    fixed = {(k if k in UNDERSCORE_KEYS else k.replace("_", "-")): (v,) if isinstance(v, str) else v
             for k, v in meta.items()}
    return Cluster(galaxy, f"uuid-{value}", value, (), description, fixed, (), ())


def values(items: tuple[TargetItem, ...]) -> list[str]:
    return [i.value for i in items]


# --- structured fields ---------------------------------------------------------


def test_merges_one_country_over_three_clusters(vocab: Vocabulary) -> None:
    clusters = [
        cluster("threat-actor", "APT37", "It targets South Korea.", cfr_suspected_victims=("Republic of Korea", "Japan")),
        cluster("groups", "APT37", observed_countries=("KR",)),
        cluster("mitre-intrusion-set", "APT37 - G0067", "The group has targeted victims in South Korea."),
    ]
    t = targeting_for(clusters, vocab)
    assert values(t.countries) == ["South Korea", "Japan"]
    kr = t.countries[0]
    assert kr.code == "KR" and kr.galaxy_tag == 'misp-galaxy:target-information="South Korea"'
    assert kr.originals == ("Republic of Korea", "KR", "South Korea")
    assert kr.sources == (
        Source("threat-actor", "APT37", "cfr-suspected-victims"),
        Source("groups", "APT37", "observed_countries"),
        Source("threat-actor", "APT37", "description", "It targets South Korea."),
        Source("mitre-intrusion-set", "APT37 - G0067", "description", "The group has targeted victims in South Korea."),
    )
    assert kr.structured
    assert kr.support == 3                            # threat-actor's field and description are one source


def test_organisations_are_kept(vocab: Vocabulary) -> None:
    t = targeting_for([cluster("threat-actor", "Lazarus Group", cfr_suspected_victims=(
        "South Korea", "Bangladesh Bank", "Sony Pictures Entertainment", "Bangladesh", "South Korea"))], vocab)
    assert values(t.countries) == ["South Korea", "Bangladesh"]
    assert values(t.organisations) == ["Bangladesh Bank", "Sony Pictures Entertainment"]
    assert t.organisations[0].galaxy_tag is None and t.organisations[0].code is None
    assert len(t.countries[0].sources) == 1          # the duplicate in the data adds nothing


def test_sectors_normalise_and_merge(vocab: Vocabulary) -> None:
    t = targeting_for([
        cluster("threat-actor", "X", cfr_target_category=("Government", "Private sector", "Healthcare"),
                targeted_sector=("Government, Administration",)),
        cluster("groups", "X", target_categories=("Financial Services", "Media", "NGOs", "Telecommunications")),
    ], vocab)
    assert values(t.sectors) == ["Government, Administration", "Private sector", "Health", "Finance",
                                 "News - Media", "NGO", "Telecoms"]
    gov = t.sectors[0]
    assert gov.originals == ("Government", "Government, Administration")
    assert [s.field for s in gov.sources] == ["cfr-target-category", "targeted-sector"]
    assert t.sectors[1].galaxy_tag is None           # no sector value fits: original kept, untagged


def test_string_and_list_fields(vocab: Vocabulary) -> None:
    one = targeting_for([cluster("threat-actor", "A", cfr_type_of_incident="Espionage")], vocab)
    many = targeting_for([cluster("threat-actor", "B", cfr_type_of_incident=("Espionage", "Sabotage"))], vocab)
    assert values(one.incident_types) == ["Espionage"]
    assert values(many.incident_types) == ["Espionage", "Sabotage"]


def test_sponsor_origin_and_motive(vocab: Vocabulary) -> None:
    t = targeting_for([
        cluster("threat-actor", "APT37", cfr_suspected_state_sponsor="Korea (Democratic People's Republic of)",
                country="KP", motive="Espionage"),
        cluster("groups", "APT37", country="KP", observed_motivations=("Cyber Espionage",)),
        cluster("microsoft-activity-group", "Ruby Sleet", sector="North Korea", country="KP"),
        cluster("360net-threat-actor", "ScarCruft - APT-C-28", country="korea"),
    ], vocab)
    assert values(t.sponsors) == ["North Korea"] and t.sponsors[0].code == "KP"
    assert values(t.origins) == ["North Korea"]
    assert t.origins[0].originals == ("KP", "North Korea", "korea")
    assert values(t.motives) == ["Espionage", "Cyber Espionage"]
    assert t.countries == ()                          # origin is never a victim


def test_unknown_sponsor_and_empty_origin_skipped(vocab: Vocabulary) -> None:
    t = targeting_for([cluster("threat-actor", "X", cfr_suspected_state_sponsor="Unknown", country="")], vocab)
    assert t.sponsors == () and t.origins == () and t.empty


def test_microsoft_sector_is_actor_kind(vocab: Vocabulary) -> None:
    t = targeting_for([cluster("microsoft-activity-group", "Storm-1", sector="Financially motivated")], vocab)
    assert values(t.motives) == ["Financially motivated"] and t.sectors == ()


def test_chinese_360net_fields(vocab: Vocabulary) -> None:
    t = targeting_for([cluster("360net-threat-actor", "Lazarus - APT-C-26", country="korea",
                               suspected_victims=("中国", "韩国", "中国及东南亚", "北约"),
                               target_category=("政府", "国防军工", "教育"))], vocab)
    assert values(t.countries) == ["China", "South Korea"]
    assert t.countries[1].originals == ("韩国",)
    assert t.countries[0].originals == ("中国", "中国及东南亚")
    assert values(t.regions) == ["Southeast Asia"]
    assert values(t.organisations) == ["NATO"] and t.organisations[0].originals == ("北约",)
    assert values(t.sectors) == ["Government, Administration", "Defense", "Education"]


def test_victimology_mixes_sectors_and_places(vocab: Vocabulary) -> None:
    t = targeting_for([cluster("threat-actor", "X", victimology="Oil and Gas, Manufacturing, Europe, US")], vocab)
    assert values(t.regions) == ["Europe"]
    assert values(t.countries) == ["United States"]
    assert values(t.sectors) == ["Oil", "Gas", "Manufacturing"]


def test_unknown_country_code_kept(vocab: Vocabulary) -> None:
    t = targeting_for([cluster("groups", "X", observed_countries=("GF", "JP"))], vocab)
    assert [(i.value, i.code) for i in t.countries] == [("GF", "GF"), ("Japan", "JP")]


# --- descriptions ----------------------------------------------------------------


@pytest.mark.parametrize("text, victims", [
    ("APT-X is a North Korean group that targets South Korea, Japan.", ["South Korea", "Japan"]),
    ("A Chinese threat actor targeting Vietnam.", ["Vietnam"]),
    ("It is an Iranian group that has targeted Israeli organizations.", ["Israel"]),
    ("Believed to be based in Russia, the group attacks Ukraine.", ["Ukraine"]),
    ("Attributed to the Reconnaissance General Bureau, it targets South Korean corporations.", ["South Korea"]),
    ("The group has ties to the Russian government and targets military organizations in Georgia.",
     ["Military", "Georgia"]),
    ("A Russia-based group targeting Israel-based IT companies.", ["Israel"]),
    ("The group operates out of Iran and hacks U.S. banks.", ["United States"]),
    ("A suspected North Korean state-sponsored cyber espionage group active since 2012.", []),
    ("The group was named after a town in Japan.", []),         # no targeting cue: not a victim
    ("According to Japanese researchers it attacked Vietnam.", ["Vietnam"]),
    ("In 2017 it expanded its targeting beyond South Korea to include Japan.", ["Japan"]),
])
def test_description_origin_vs_victim(vocab: Vocabulary, text: str, victims: list[str]) -> None:
    reading = read_description(text, vocab)
    assert [r.entry.value for r in reading.victims] == victims


def test_description_origins_reported(vocab: Vocabulary) -> None:
    reading = read_description("[APT37](https://attack.mitre.org/groups/G0067) is a North Korean "
                               "state-sponsored group.(Citation: FireEye APT37 Feb 2018)", vocab)
    assert [r.entry.value for r in reading.origins] == ["North Korea"] and reading.victims == ()


def test_description_never_reports_home_country_as_a_victim(vocab: Vocabulary) -> None:
    # Said to be domestic ("Chinese dissidents" for a Chinese actor): reported as domestic, never as a victim.
    t = targeting_for([cluster("threat-actor", "X", "A Chinese APT targeting Chinese dissidents and Japan.",
                               country="CN")], vocab)
    assert values(t.countries) == ["Japan"] and values(t.domestic) == ["China"]
    assert t.domestic[0].sources[0].sentence == "A Chinese APT targeting Chinese dissidents and Japan."
    # Not said to be domestic: dropped. The origin read in one sentence applies to the whole actor.
    other = targeting_for([cluster("mitre-intrusion-set", "Y", "Y is a Chinese group. Y targets China and Iran.")],
                          vocab)
    assert values(other.countries) == ["Iran"] and other.domestic == ()


def test_description_regions_and_sectors(vocab: Vocabulary) -> None:
    t = targeting_for([cluster("threat-actor", "APT37", (
        "In 2017, APT37 expanded its targeting beyond the Korean peninsula to include Japan, Vietnam and the "
        "Middle East, and to a wider range of industry verticals, including chemicals, electronics, "
        "manufacturing, aerospace, automotive and healthcare entities"))], vocab)
    assert values(t.countries) == ["Japan", "Vietnam"]
    assert "Middle East" in values(t.regions)
    assert values(t.sectors) == ["Chemical", "Electronic", "Manufacturing", "Aerospace", "Automotive", "Health"]
    assert all(not i.structured for i in t.victims)


def test_structured_before_description(vocab: Vocabulary) -> None:
    t = targeting_for([
        cluster("mitre-intrusion-set", "A", "It targets Iran."),
        cluster("threat-actor", "A", cfr_suspected_victims=("Japan",)),
    ], vocab)
    assert values(t.countries) == ["Japan", "Iran"]


def test_deterministic(vocab: Vocabulary) -> None:
    clusters = [cluster("threat-actor", "A", "It targets Iran, Japan and the government.",
                        cfr_suspected_victims=("Japan", "NATO"))]
    assert targeting_for(clusters, vocab) == targeting_for(clusters, vocab)


def test_coverage() -> None:
    src, desc = Source("g", "c", "cfr-suspected-victims"), Source("g", "c", "description")
    structured = Targeting(countries=(TargetItem("Japan", ("Japan",), (src,), "JP"),))
    described = Targeting(sectors=(TargetItem("Health", ("healthcare",), (desc,)),))
    only_origin = Targeting(origins=(TargetItem("China", ("CN",), (src,), "CN"),))
    assert coverage([structured, described, only_origin, Targeting()]) == Coverage(4, 2, 1, 1)


# --- real bundled data -------------------------------------------------------------

ACTOR_GALAXIES = ("threat-actor", "mitre-intrusion-set", "microsoft-activity-group", "360net", "tidal-groups")


def bundled_clusters(name: str) -> Iterator[Cluster]:
    document = load_cluster_file(bundled_data_dir(), name)
    assert document is not None, name
    yield from clusters_from_document(document)


@pytest.fixture(scope="module")
def real_vocab(bundled: Knowledge) -> Vocabulary:
    return bundled.vocabulary


def test_real_apt37(real: Knowledge) -> None:
    (apt37,) = [c for a in real.actors for c in a.clusters if c.galaxy == "threat-actor" and c.value == "APT37"]
    t = targeting_for([apt37], real.vocabulary)
    assert values(t.countries)[:3] == ["South Korea", "Japan", "Vietnam"]
    # "Republic of Korea" in the older data, "South Korea" now: what the source said is kept
    assert apt37.meta["cfr-suspected-victims"][0] in t.countries[0].originals
    assert "North Korea" not in values(t.countries)
    assert "Middle East" in values(t.regions)
    middle_east = t.regions[values(t.regions).index("Middle East")]
    assert [(s.galaxy, s.cluster, s.field) for s in middle_east.sources] == [("threat-actor", "APT37", "description")]
    assert "Middle East" in (middle_east.sources[0].sentence or "")
    assert {"Aerospace", "Automotive", "Health"} <= set(values(t.sectors))
    assert values(t.sponsors) == ["North Korea"] and values(t.origins) == ["North Korea"]


def test_real_all_actor_clusters_sane(real_vocab: Vocabulary) -> None:
    clusters = [c for g in ACTOR_GALAXIES for c in bundled_clusters(g)]
    results = [targeting_for([c], real_vocab) for c in clusters]
    cov = coverage(results)
    assert cov.total == len(clusters) and cov.with_any > cov.total // 2
    for c, t in zip(clusters, results, strict=True):
        home = {i.code for i in (*t.origins, *t.sponsors)}
        assert not home & {i.code for i in t.countries}, c.value     # the home country is never a victim abroad
        assert not {i.code for i in t.domestic} & {i.code for i in t.countries}, c.value
        assert all(s.sentence for i in t.victims for s in i.sources if s.from_description), c.value


# --- evidence: provenance, independent support, ranking ------------------------------

def test_support_counts_clusters_not_fields(vocab: Vocabulary) -> None:
    t = targeting_for([
        cluster("threat-actor", "A", "It targets Japan.", cfr_suspected_victims=("Japan", "Iran")),
        cluster("groups", "A", observed_countries=("JP",)),
    ], vocab)
    japan, iran = t.countries
    assert (japan.value, japan.support, iran.value, iran.support) == ("Japan", 2, "Iran", 1)
    assert len(japan.sources) == 3                   # every source is kept; the same cluster counts once


def test_copied_sentences_count_once(vocab: Vocabulary) -> None:
    text = "The group has targeted government networks in Japan."
    t = targeting_for([cluster("mitre-intrusion-set", "A - G0001", text), cluster("groups", "A", text),
                       cluster("threat-actor", "A", "It attacks Japanese companies.")], vocab)
    assert t.countries[0].value == "Japan" and len(t.countries[0].sources) == 3
    assert t.countries[0].support == 2               # ATT&CK's text and Tidal's copy of it are one source


def test_categories_rank_by_support_stably(vocab: Vocabulary) -> None:
    t = targeting_for([
        cluster("threat-actor", "A", cfr_suspected_victims=("Iran", "Japan", "Vietnam")),
        cluster("groups", "A", observed_countries=("VN",)),
        cluster("mitre-intrusion-set", "A - G0001", "It targets Japan."),
    ], vocab)
    assert [(i.value, i.support) for i in t.countries] == [("Japan", 2), ("Vietnam", 2), ("Iran", 1)]


# --- structured fields: small clusters copied from the data ---------------------------

STRUCTURED = yaml.safe_load((FIXTURES / "targeting" / "structured.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def set_vocab() -> Vocabulary:
    return sentence_set.vocabulary()


@pytest.mark.parametrize("case", STRUCTURED, ids=[c["case"] for c in STRUCTURED])
def test_structured_cases(case: dict[str, Any], set_vocab: Vocabulary) -> None:
    clusters = [Cluster(c["galaxy"], f"uuid-{i}", c["value"], (), c.get("description", ""),
                        {k: tuple(v) for k, v in c["meta"].items()}, (), ())
                for i, c in enumerate(case["clusters"])]
    t = targeting_for(clusters, set_vocab)
    for category, expected in case["expect"].items():
        got = values(getattr(t, category))
        assert (got if case.get("ranked") else sorted(got)) == (expected if case.get("ranked") else sorted(expected))
    for category, counts in case.get("support", {}).items():
        assert {i.value: i.support for i in getattr(t, category)} == counts
    for category, unwanted in case.get("absent", {}).items():
        assert not set(unwanted) & set(values(getattr(t, category))), category
