"""Tiered matching, ambiguity and suggestions, on the mini galaxy and on the real data."""

import threading

import pytest

from misp_actor_enrich.core.knowledge import Knowledge
from misp_actor_enrich.core.models import Status, Tier


def _only(knowledge: Knowledge, query: str) -> tuple[str, Tier]:
    resolution = knowledge.resolve(query)
    assert resolution.status is Status.RESOLVED, (query, resolution)
    (candidate,) = resolution.candidates
    return candidate.actor.name, candidate.tier


@pytest.mark.parametrize(("query", "actor", "tier"), [
    ("APT37", "APT37", Tier.VALUE),
    ("Reaper", "APT37", Tier.SYNONYM),
    ("APT 37", "APT37", Tier.SYNONYM),
    ("apt-37", "APT37", Tier.NORMALISED),
    ("ＡＰＴ３７", "APT37", Tier.NORMALISED),
    ("reaper", "APT37", Tier.SYNONYM),           # case alone does not demote an exact name
    ("the Reaper group", "APT37", Tier.QUALIFIED),
    ("APT37 (ScarCruft)", "APT37", Tier.QUALIFIED),
    ("Reaper / APT37", "APT37", Tier.QUALIFIED),
    ("Reaper (North Korea)", "APT37", Tier.QUALIFIED),
    ("Oldie", "APT37", Tier.SYNONYM),           # a revoked cluster's name points to its replacement
    ("Weirdo", "Weird Actor", Tier.SYNONYM),
])
def test_tiers_on_the_mini_galaxy(mini: Knowledge, query: str, actor: str, tier: Tier) -> None:
    assert _only(mini, query) == (actor, tier)


def test_a_prefix_is_never_a_match(mini: Knowledge) -> None:
    assert _only(mini, "APT3") == ("APT3", Tier.VALUE)
    assert mini.resolve("APT").status is Status.UNKNOWN
    assert mini.resolve("APT300").status is Status.UNKNOWN


def test_names_that_normalise_to_nothing_match_nothing(mini: Knowledge) -> None:
    resolution = mini.resolve("———")
    assert resolution.status is Status.UNKNOWN and resolution.candidates == ()
    assert "no letters or digits" in resolution.reason


def test_two_clusters_with_one_synonym_are_ambiguous(mini: Knowledge) -> None:
    resolution = mini.resolve("Guardians of Peace")
    assert resolution.status is Status.AMBIGUOUS
    assert {c.actor.name for c in resolution.candidates} == {"Lazarus Group", "Silent Chollima"}
    assert "equally" in resolution.reason


def test_a_clusters_own_value_beats_other_clusters_synonyms(mini: Knowledge) -> None:
    # ATT&CK's cluster is named Andariel; threat-actor lists it under Lazarus Group and Silent Chollima.
    assert _only(mini, "Andariel") == ("Andariel", Tier.VALUE)
    assert _only(mini, "andariel") == ("Andariel", Tier.VALUE)
    assert _only(mini, "ANDARIEL!") == ("Andariel", Tier.NORMALISED)


def test_names_of_one_identity_never_compete(mini: Knowledge) -> None:
    # ELECTRUM: a synonym of ATT&CK's Sandworm Team and of Microsoft's Seashell Blizzard, one actor.
    assert _only(mini, "ELECTRUM") == ("Sandworm", Tier.SYNONYM)


def test_an_operation_name_is_a_qualifier(mini: Knowledge) -> None:
    assert _only(mini, "Operation Reaper") == ("APT37", Tier.QUALIFIED)
    assert _only(mini, "Op. Reaper") == ("APT37", Tier.QUALIFIED)
    assert mini.resolve("Operation").status is Status.UNKNOWN


def test_qualified_parts_that_disagree_are_ambiguous(mini: Knowledge) -> None:
    resolution = mini.resolve("HIDDEN COBRA / Reaper")
    assert resolution.status is Status.AMBIGUOUS
    assert {c.actor.name for c in resolution.candidates} == {"Lazarus Group", "APT37"}


def test_near_misses_are_suggestions_with_scores(mini: Knowledge) -> None:
    resolution = mini.resolve("ScarKruft")
    assert resolution.status is Status.SUGGESTED
    best = resolution.candidates[0]
    assert (best.actor.name, best.matched, best.tier) == ("APT37", "ScarCruft", Tier.SUGGESTION)
    assert 0.8 < best.score < 1.0


def test_suggestions_keep_digits(mini: Knowledge) -> None:
    assert mini.resolve("APT38").status is Status.UNKNOWN


def test_names_only_in_non_actor_or_deprecated_galaxies_are_unknown(mini: Knowledge) -> None:
    assert mini.resolve("IoTroop").status is Status.UNKNOWN
    assert mini.resolve("Deprecated Galaxy Name").status is Status.UNKNOWN
    assert _only(mini, "Reaper")[0] == "APT37"  # the botnet's "Reaper" never answers


def test_resolution_is_safe_from_many_threads(mini: Knowledge) -> None:
    names = ["Reaper", "ScarKruft", "Guardians of Peace", "apt-37", "the Reaper group"] * 40
    expected = {n: mini.resolve(n) for n in set(names)}
    failures: list[str] = []

    def work() -> None:
        for name in names:
            if mini.index._resolve(name).status is not expected[name].status:
                failures.append(name)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


# --- real data: the bundled (current) misp-galaxy data and pymispgalaxies' older copy -----------

APT37_NAMES = ["APT37", "Reaper", "ScarCruft", "Group123", "Ricochet Chollima", "InkySquid", "Red Eyes",
               "APT 37", "apt-37", "ＡＰＴ３７", "APT-37", "Group 123", "the Reaper group", "G0067"]


@pytest.mark.parametrize("name", APT37_NAMES)
def test_every_apt37_name_resolves_to_apt37(real: Knowledge, name: str) -> None:
    resolution = real.resolve(name)
    assert resolution.status is Status.RESOLVED, resolution.reason
    actor = resolution.candidates[0].actor
    assert actor.name == "APT37"
    assert 'misp-galaxy:threat-actor="APT37"' in actor.tags
    assert 'misp-galaxy:mitre-intrusion-set="APT37 - G0067"' in actor.tags


@pytest.mark.parametrize(("query", "threat_actor"), [
    ("Anunak", "FIN7"), ("Threat Group-3390", "APT27"), ("Winnti Group", "APT41"),
    ("Fancy Bear", "APT28"), ("Cozy Bear / APT29", "APT29"), ("APT29 (Cozy Bear)", "APT29"),
    ("Turla (Russia)", "Turla"), ("the Kimsuky group", "Kimsuky"), ("STRONTIUM", "APT28"),
    ("Forest Blizzard", "APT28"), ("Operation Pawn Storm", "APT28"), ("Operation Soft Cell", "GALLIUM"),
    ("Operation Sharpshooter", "Lazarus Group"),
])
def test_real_names_reach_the_threat_actor_cluster(real: Knowledge, query: str, threat_actor: str) -> None:
    resolution = real.resolve(query)
    assert resolution.status is Status.RESOLVED, resolution.reason
    assert f'misp-galaxy:threat-actor="{threat_actor}"' in resolution.candidates[0].tags


def test_real_prefixes_stay_themselves(real: Knowledge) -> None:
    resolution = real.resolve("APT3")
    assert resolution.status is Status.RESOLVED
    assert resolution.candidates[0].tags[0] == 'misp-galaxy:threat-actor="APT3"'


def test_real_value_beats_synonyms(real: Knowledge) -> None:
    # ATT&CK's Andariel cluster is named so; threat-actor lists Andariel under two actors.
    resolution = real.resolve("Andariel")
    assert resolution.status is Status.RESOLVED and resolution.candidates[0].tier is Tier.VALUE
    assert 'misp-galaxy:mitre-intrusion-set="Andariel - G0138"' in resolution.candidates[0].tags


@pytest.mark.parametrize(("query", "actors"), [
    ("Grizzly Steppe", {"APT28", "APT29"}),
    ("PLA Navy", {"APT18", "SAMURAI PANDA", "APT4"}),
    ("IMPERIAL KITTEN", {"Tortoiseshell", "Bohrium"}),
])
def test_real_ambiguous_names(real: Knowledge, query: str, actors: set[str]) -> None:
    resolution = real.resolve(query)
    assert resolution.status is Status.AMBIGUOUS
    assert {c.actor.name for c in resolution.candidates} == actors


@pytest.mark.parametrize(("query", "actor"), [("ScarKruft", "APT37"), ("Kimsukky", "Kimsuky")])
def test_real_near_misses(real: Knowledge, query: str, actor: str) -> None:
    resolution = real.resolve(query)
    assert resolution.status is Status.SUGGESTED
    assert resolution.candidates[0].actor.name == actor


@pytest.mark.parametrize("query", ["IoT Reaper", "MQ-9 Reaper", "Definitely Not An Actor", "Emotet"])
def test_real_non_actors_are_unknown(real: Knowledge, query: str) -> None:
    assert real.resolve(query).status is Status.UNKNOWN


# --- holders: who could be meant at all, for names given side by side ---------------


def test_holders_list_every_actor_holding_a_name(mini: Knowledge) -> None:
    # Andariel resolves to ATT&CK's Andariel; threat-actor lists it under two more actors.
    assert mini.resolve("Andariel").status is Status.RESOLVED
    held = mini.index.holders("Andariel")
    assert {c.actor.name for c in held} == {"Andariel", "Lazarus Group", "Silent Chollima"}
    assert held[0].actor.name == "Andariel" and held[0].tier is Tier.VALUE      # best claim first
    assert {c.actor.name for c in mini.index.holders("Sandworm")} == {"Sandworm"}   # "Sandworm Team" stripped
    assert mini.index.holders("No Such Actor") == () and mini.index.holders("———") == ()


def test_holders_on_the_real_data(real: Knowledge) -> None:
    """Charming Kitten is threat-actor's own cluster, and a synonym ATT&CK and Microsoft give APT35."""
    assert real.resolve("Charming Kitten").candidates[0].actor.name == "Charming Kitten"
    assert {c.actor.name for c in real.index.holders("Charming Kitten")} == {"Charming Kitten", "APT35"}
    assert {c.actor.name for c in real.index.holders("APT35")} == {"APT35"}
