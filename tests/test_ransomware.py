"""Ransomware operations as groups: joined to actors only where the galaxies say so, their names as
people type them, their answer, and issue 15's promises over both real data sets."""

from __future__ import annotations

import copy
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from misp_checks import all_attributes, check_misp_standard
from pymisp import MISPEvent

from misp_actor_enrich.core.knowledge import Knowledge
from misp_actor_enrich.core.models import Status
from misp_actor_enrich.core.names import generic_steps, normalise, strip_edition, strip_ransomware, version_forms
from misp_actor_enrich.core.settings import Settings
from misp_actor_enrich.data import runtime
from misp_actor_enrich.data.overrides_file import parse
from misp_actor_enrich.data.store import load_knowledge
from misp_actor_enrich.misp import module
from misp_actor_enrich.misp.bulk import enrich_event, plan_event

GALAXY = Path(__file__).resolve().parent.parent / "fixtures" / "ransomware" / "galaxy"
Payload = Callable[..., dict[str, Any]]
DEFAULT = {"include_aliases_as_attributes": None}


def tag(galaxy: str, value: str) -> str:
    return f'misp-galaxy:{galaxy}="{value}"'


@pytest.fixture(scope="module")
def rw() -> Knowledge:
    return load_knowledge(GALAXY, label="ransomware fixture")


@pytest.fixture
def use_rw(rw: Knowledge) -> Iterator[Knowledge]:
    runtime.install(rw)
    yield rw
    runtime.install(None)


def _answer(knowledge: Knowledge, name: str) -> tuple[str, tuple[str, ...]]:
    resolution = knowledge.resolve(name)
    assert resolution.status is Status.RESOLVED, (name, resolution.reason)
    actor = resolution.candidates[0].actor
    return actor.name, actor.tags


# --- what the galaxies say, on the hand-made galaxy -------------------------------------------------


def test_an_operation_an_actor_in_the_business_lists_is_that_actor(rw: Knowledge) -> None:
    # Harbor Crew lists Dockside and is described as running ransomware: one identity, both tagged.
    assert _answer(rw, "Dockside") == _answer(rw, "Harbor Crew") == (
        "Harbor Crew", (tag("threat-actor", "Harbor Crew"), tag("ransomware", "Dockside")))
    # The same own name, for an extortion group.
    assert _answer(rw, "quill")[1] == (tag("threat-actor", "Quill"), tag("ransomware", "quill"))


def test_a_shared_name_is_not_enough_without_the_business(rw: Knowledge) -> None:
    # Lantern the espionage actor and Lantern the 2016 locker: the actor keeps its name, the answer
    # says where the other is, and "Lantern ransomware" reaches it.
    resolution = rw.resolve("Lantern")
    assert resolution.candidates[0].tags == (tag("threat-actor", "Lantern"),)
    assert resolution.note == "the ransomware galaxy also has 'Lantern' (write 'Lantern ransomware' for it)"
    assert _answer(rw, "Lantern ransomware")[1] == (tag("ransomware", "Lantern"),)
    assert {(s.operation, s.actor, s.relation) for s in rw.ransomware_statements} >= {
        ("Lantern", "Lantern", "apart"), ("Fernlock", "Moss Team", "apart")}


def test_operators_are_tagged_with_their_operation_but_a_brand_is_not_one_crew(rw: Knowledge) -> None:
    # Slate Spider "uses" Brightlock; Tidal names "Brightlock Ransomware Actors": both run it.
    name, tags = _answer(rw, "Brightlock")
    assert name == "Brightlock" and tags == (tag("ransomware", "Brightlock"), tag("threat-actor", "Slate Spider"),
                                             tag("groups", "Brightlock Ransomware Actors"))
    slate = rw.resolve("Slate Spider").candidates[0].actor
    assert slate.tags == (tag("threat-actor", "Slate Spider"),) and [c.value for c in slate.operates] == ["Brightlock"]
    # Moss Team "uses" Fernlock but is an espionage actor: no link either way.
    assert _answer(rw, "Fernlock")[1] == (tag("ransomware", "Fernlock"),)
    assert rw.resolve("Moss Team").candidates[0].actor.operates == ()


def test_an_operation_two_actors_claim_equally_joins_neither(rw: Knowledge) -> None:
    assert [s.relation for s in rw.ransomware_statements if s.operation == "Kiln"] == ["contested", "contested"]
    assert _answer(rw, "Kiln ransomware")[1] == (tag("ransomware", "Kiln"),)
    assert rw.resolve("Kiln").status is Status.AMBIGUOUS        # the two actors' synonym, as before


def test_one_operation_filed_twice_is_one_answer_with_both_tags(rw: Knowledge) -> None:
    for name in ("Mount Glass", "MOUNTGLASS", "mountglass"):
        assert _answer(rw, name) == ("Mount Glass", (tag("ransomware", "Mount Glass"), tag("ransomware", "mountglass")))
    # "Tern" and "Tern Ransomware" share a leak site; "Gale Ransomware" is an older, other family.
    assert _answer(rw, "Tern ransomware")[1] == (tag("ransomware", "Tern"), tag("ransomware", "Tern Ransomware"))
    # Tidal's "Gale Ransomware Actors" run the Gale the galaxy names so, not the older family.
    assert _answer(rw, "Gale")[1] == (tag("ransomware", "Gale"), tag("groups", "Gale Ransomware Actors"))
    assert _answer(rw, "Gale Ransomware")[1] == (tag("ransomware", "Gale Ransomware"),)


@pytest.mark.parametrize(("query", "cluster"), [
    ("Brightlock 3.0", "Brightlock3"),          # the version the galaxy files apart
    ("BRIGHTLOCK 3", "Brightlock3"),
    ("Brightlock 2.0", "Brightlock"),           # no such version: the family
    ("Brightlock v4", "Brightlock"),
    ("Brightlock Green", "Brightlock"),         # a product edition
    ("Brightlock ESXi", "Brightlock"),
    ("the brightlock ransomware gang", "Brightlock"),
    ("BL Locker ransomware", "Brightlock"),
    ("Brightlock / BL Locker", "Brightlock"),
    ("Ostra", "Cuba"),
])
def test_names_as_people_type_them(rw: Knowledge, query: str, cluster: str) -> None:
    assert tag("ransomware", cluster) == _answer(rw, query)[1][0]


@pytest.mark.parametrize("query", ["Ransomware gang", "the ransomware", "Team 2.0", "Group 2.0", "Black",
                                   "Quarry Black", "Harbor ransomware"])
def test_a_generic_word_never_becomes_a_match(rw: Knowledge, query: str) -> None:
    assert rw.resolve(query).status is Status.UNKNOWN


def test_an_actor_name_written_whole_beats_the_ransomware_name_it_contains(rw: Knowledge) -> None:
    assert _answer(rw, "the Royal Quarry APT group")[0] == "Royal Quarry APT"
    assert _answer(rw, "Royal Quarry")[1] == (tag("ransomware", "Royal Quarry"),)


def test_near_misses_are_suggested_like_actors(rw: Knowledge) -> None:
    resolution = rw.resolve("Brightlok")
    assert resolution.status is Status.SUGGESTED and resolution.candidates[0].actor.name == "Brightlock"


def test_site_overrides_act_on_operations(tmp_path: Path) -> None:
    overrides = parse("aliases:\n  Brightlock: [Bright Gang]\nignore:\n  - BL Locker\npins:\n  Kiln: Ash Collective\n",
                      tmp_path / "overrides.yaml")
    site = load_knowledge(GALAXY, overrides=overrides)
    assert _answer(site, "Bright Gang")[1][0] == tag("ransomware", "Brightlock")
    assert site.resolve("BL Locker").status is Status.UNKNOWN
    assert _answer(site, "Kiln")[0] == "Ash Collective"
    assert site.warnings == ()


def test_a_private_name_for_an_operation_joins_it(tmp_path: Path) -> None:
    overrides = parse("actors:\n  - name: Our Locker Case\n    same_as: Brightlock\n", tmp_path / "overrides.yaml")
    site = load_knowledge(GALAXY, overrides=overrides)
    name, tags = _answer(site, "Our Locker Case")
    assert name == "Brightlock" and tags[0] == tag("ransomware", "Brightlock")
    assert _answer(site, "Slate Spider")[0] == "Slate Spider"          # the operator stays its own actor


def test_names_helpers() -> None:
    assert strip_ransomware("Black Basta ransomware") == "Black Basta" and strip_ransomware("ransomware") == "ransomware"
    assert version_forms("LockBit 3.0") == ("LockBit 3", "LockBit") == version_forms("LockBit3.0")
    assert version_forms("Conti v2") == ("Conti 2", "Conti")
    assert version_forms("APT 37") == version_forms("Group 123") == version_forms("Team 2.0") == ()
    assert strip_edition("LockBit Black") == "LockBit" and strip_edition("Red Black") == "Red Black"
    assert generic_steps("the Royal APT group") == ("Royal APT group", "Royal")


# --- the answer --------------------------------------------------------------------------------------


def test_an_operations_answer_carries_its_own_fields_within_the_budget(payload: Payload, use_rw: Knowledge) -> None:
    body = module.dict_handler(payload(value="Brightlock", config=DEFAULT))
    check_misp_standard(body)
    results = body["results"]
    assert [t["name"] for t in results["Tag"]] == [tag("ransomware", "Brightlock"), tag("threat-actor", "Slate Spider"),
                                                   tag("groups", "Brightlock Ransomware Actors")]
    added = [(a["type"], a["category"], a["value"]) for a in results["Attribute"]]
    assert added == [
        ("link", "External analysis", "https://example.org/brightlock"),             # its references
        ("link", "External analysis", "http://brightlock1.onion/"),                  # one per leak site
        ("link", "External analysis", "http://brightlock2.onion/"),
        ("filename", "Artifacts dropped", "Restore-Brightlock.txt"),                 # not "<ID>.README.txt"
        ("filename", "Artifacts dropped", "brightlock_readme.html"),
        ("filename-pattern", "Artifacts dropped", "*.bright"),                       # not "4 random characters"
        ("filename-pattern", "Artifacts dropped", "*.blk"),
    ]
    assert all(a["disable_correlation"] for a in results["Attribute"] if a["type"] != "link")
    comment = results["Object"][0]["comment"]
    assert "Operated by threat-actor 'Slate Spider', groups 'Brightlock Ransomware Actors'" in comment
    assert "2 of 3 leak sites" in comment and "2 of 3 file extensions" in comment
    full = module.dict_handler(payload(value="Brightlock", config={**DEFAULT, "detail": "full"}))["results"]
    assert sum(1 for a in full["Attribute"] if a["type"] == "filename-pattern") == 3


def test_an_operations_tags_on_its_own_attribute_decide_and_nothing_grows(payload: Payload, use_rw: Knowledge) -> None:
    first = module.dict_handler(payload(value="Brightlock", config=DEFAULT))["results"]
    tags = [t["name"] for t in first["Tag"]]
    again = payload(value="Brightlock", config=DEFAULT)
    again["attribute"]["Tag"] = [{"name": t} for t in tags]
    second = module.dict_handler(again)["results"]

    def contents(results: dict[str, Any]) -> list[list[tuple[str, str]]]:
        return [[(a["object_relation"], a["value"]) for a in o["Attribute"]] for o in results["Object"]]

    assert contents(second) == contents(first) and [o["name"] for o in second["Object"]] == ["intrusion-set"]
    assert [t["name"] for t in second["Tag"]] == tags


def test_a_ransomware_tag_on_an_actors_attribute_is_the_malware_it_used(payload: Payload, use_rw: Knowledge) -> None:
    data = payload(value="Moss Team", config=DEFAULT)
    data["attribute"]["Tag"] = [{"name": tag("ransomware", "Fernlock")}]
    results = module.dict_handler(data)["results"]
    assert [t["name"] for t in results["Tag"]] == [tag("threat-actor", "Moss Team")]
    data["attribute"]["Tag"] = [{"name": tag("ransomware", "No Such Locker")}]     # never a reason to stop
    assert [t["name"] for t in module.dict_handler(data)["results"]["Tag"]] == [tag("threat-actor", "Moss Team")]


def test_hover_shows_the_fields_without_tags(payload: Payload, use_rw: Knowledge) -> None:
    body = module.dict_handler(payload("b_hover.json", value="Cuba", config=DEFAULT))
    assert "Tag" not in body["results"]
    assert {a["value"] for a in all_attributes(body["results"])} >= {"!! READ ME !!.txt", "*.cuba"}


# --- issue 15's promises on the real data -------------------------------------------------------------


def test_every_ransomware_value_resolves_to_its_cluster_unless_an_actor_galaxy_gives_it(real: Knowledge) -> None:
    outcome: Counter[str] = Counter()
    for actor in real.actors:
        for cluster in actor.ransomware:
            if not normalise(cluster.value):
                continue                                    # "$$$": no letters, matches nothing
            resolution = real.resolve(cluster.value)
            if resolution.status is Status.RESOLVED and cluster in resolution.candidates[0].actor.clusters:
                outcome["own"] += 1
            else:
                # An actor galaxy gives the name (Turla's "Krypton"): the answer says so, and the
                # name written as a ransomware name reaches the cluster.
                assert resolution.note, (cluster.value, resolution.reason)
                written = real.resolve(f"{cluster.value} ransomware")
                assert cluster in written.candidates[0].actor.clusters, cluster.value
                outcome["an actor's"] += 1
    assert outcome["own"] > 2000 and outcome["an actor's"] <= 15, outcome


def test_ransomware_joins_only_actors_in_the_business(real: Knowledge) -> None:
    joined = [s for s in real.ransomware_statements if s.relation == "same"]
    assert len(joined) >= 25 and all(s.because for s in joined)
    apart = {(s.operation, s.actor) for s in real.ransomware_statements if s.relation == "apart"}
    assert {("Krypton", "Turla"), ("Armageddon", "Gamaredon Group"), ("Chimera", "Chimera")} <= apart
    for name in ("Turla", "Gamaredon Group", "Kimsuky", "APT28", "Lazarus Group"):
        actor = real.resolve(name).candidates[0].actor
        assert not actor.ransomware and not actor.operators, name


@pytest.mark.parametrize(("query", "tags"), [
    ("Akira", {tag("ransomware", "Akira"), tag("mitre-intrusion-set", "Akira - G1024"), tag("threat-actor", "Storm-1567")}),
    ("ALPHV/BlackCat", {tag("ransomware", "BlackCat")}),
    ("Cl0p", {tag("ransomware", "Clop")}),
    ("LockBit ransomware", {tag("ransomware", "LockBit"), tag("threat-actor", "BITWISE SPIDER")}),
    ("REvil", {tag("ransomware", "Sodinokibi")}),
    ("BlackMatter", {tag("ransomware", "Darkside")}),                 # a rename the galaxy files under Darkside
    ("play", {tag("ransomware", "play"), tag("ransomware", "PLAY Ransomware"), tag("mitre-intrusion-set", "Play - G1040")}),
    ("Medusa", {tag("ransomware", "medusa"), tag("mitre-intrusion-set", "Medusa Group - G1051")}),
    ("Krypton ransomware", {tag("ransomware", "Krypton")}),
])
def test_ransomware_names_on_the_bundled_data(bundled: Knowledge, query: str, tags: set[str]) -> None:
    resolution = bundled.resolve(query)
    assert resolution.status is Status.RESOLVED, resolution.reason
    assert tags <= set(resolution.candidates[0].tags)


def test_actor_galaxies_keep_their_names(bundled: Knowledge) -> None:
    assert bundled.resolve("Krypton").candidates[0].actor.name == "Turla"
    assert bundled.resolve("Medusa Group").candidates[0].tags == (tag("mitre-intrusion-set", "Medusa Group - G1051"),)
    assert bundled.resolve("the Royal APT group").candidates[0].actor.name == "APT15"


def test_enrich_events_adds_an_operation_once(bundled: Knowledge) -> None:
    event = MISPEvent()
    event.info = "ransomware case"
    event.add_attribute("threat-actor", "LockBit")
    plan = enrich_event(event, knowledge=bundled, settings=Settings())
    assert plan.attributes[0].tagged and plan.attributes[0].actors == ("LockBit",)
    assert {tag("ransomware", "LockBit"), tag("threat-actor", "BITWISE SPIDER")} <= {t.name for t in event.tags}
    assert {a.type for a in event.attributes} >= {"filename", "filename-pattern", "link"}
    assert plan_event(event, bundled, Settings()).changes == ()
    reloaded = MISPEvent()
    reloaded.load(copy.deepcopy(event.to_json()))
    assert len(reloaded.objects) == 1


# --- update and status ----------------------------------------------------------------------------


def test_update_adds_the_ransomware_galaxy_to_data_made_before(tmp_path: Path) -> None:
    """A cache generation made before this release read the ransomware galaxy gets it on the next update
    (from the package's copy, then from the source like any galaxy); status says so until then."""
    import gzip
    import shutil

    from misp_actor_enrich.data.cache import Cache
    from misp_actor_enrich.data.refresh import status, update
    from misp_actor_enrich.data.site_config import CacheSection, SiteConfig, SourcesSection
    from misp_actor_enrich.data.store import BUNDLED_DIR

    mini = GALAXY.parent.parent / "galaxy"            # threat-actor, ATT&CK and Microsoft's only
    mirror = tmp_path / "mirror"
    shutil.copytree(mini, mirror)
    added = ("360net", "mitre-ics-groups", "ransomware", "tidal-groups")
    for name in added:
        (mirror / "clusters" / f"{name}.json").write_bytes(gzip.decompress(
            (BUNDLED_DIR / "clusters" / f"{name}.json.gz").read_bytes()))
        shutil.copy(BUNDLED_DIR / "galaxies" / f"{name}.json", mirror / "galaxies" / f"{name}.json")
    cache = CacheSection(dir=tmp_path / "cache")
    before = SiteConfig(cache=cache, sources=SourcesSection(misp_galaxy=str(mini)))
    assert update(before, fallback=mini).status == "updated"
    warned = status(before).warnings
    assert any("has no 360net-threat-actor, groups, mitre-ics-groups, ransomware galaxy" in w for w in warned), warned

    after = SiteConfig(cache=cache, sources=SourcesSection(misp_galaxy=str(mirror)))
    report = update(after)
    assert report.status == "updated", report.problems
    assert [n for n in report.notes if "added from the data bundled" in n] == [
        f"{name}: not in the data in use, added from the data bundled in the package" for name in added]
    current = Cache(tmp_path / "cache").current()
    assert current is not None
    assert tag("ransomware", "LockBit") in _answer(load_knowledge(current.path), "LockBit")[1]
    assert status(after).warnings == ()
