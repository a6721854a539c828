"""One identity per actor across galaxies, without blobs."""

from collections import Counter

from misp_actor_enrich.core.knowledge import Knowledge


def _actor(knowledge: Knowledge, name: str):
    return next(a for a in knowledge.actors if a.name == name)


def test_clusters_of_one_actor_merge_across_galaxies(mini: Knowledge) -> None:
    apt37 = _actor(mini, "APT37")
    assert [c.value for c in apt37.clusters] == ["APT37", "APT37 - G0067"]
    assert apt37.tags == ('misp-galaxy:threat-actor="APT37"', 'misp-galaxy:mitre-intrusion-set="APT37 - G0067"')


def test_generic_words_do_not_keep_one_actor_apart(mini: Knowledge) -> None:
    # ATT&CK's "Sandworm Team" by name; Microsoft's Seashell Blizzard because it lists "Sandworm".
    assert [c.value for c in _actor(mini, "Sandworm").clusters] == [
        "Sandworm", "Sandworm Team - G0034", "Seashell Blizzard"]


def test_clusters_of_one_galaxy_never_merge(mini: Knowledge) -> None:
    # Lazarus Group links to Silent Chollima as "similar": curators keep them apart, so do we.
    for actor in mini.actors:
        galaxies = Counter(c.galaxy for c in actor.primaries)
        assert max(galaxies.values()) == 1, actor.name
        assert [c for c in actor.clusters if c not in actor.primaries] == list(actor.duplicates)
    assert _actor(mini, "Silent Chollima").clusters[0].galaxy == "threat-actor"
    assert {c.value for a in mini.actors for c in a.duplicates} == {"ZINC"}


def test_duplicates_in_one_galaxy_are_one_actor_with_a_primary(mini: Knowledge) -> None:
    # Microsoft's Diamond Sleet lists ZINC, its own older cluster; threat-actor holds both names too.
    lazarus = _actor(mini, "Lazarus Group")
    assert [c.value for c in lazarus.clusters] == ["Lazarus Group", "Diamond Sleet", "ZINC"]
    assert [c.value for c in lazarus.duplicates] == ["ZINC"]
    assert [c.value for c in lazarus.primaries] == ["Lazarus Group", "Diamond Sleet"]
    assert lazarus.tags == ('misp-galaxy:threat-actor="Lazarus Group"',
                            'misp-galaxy:microsoft-activity-group="Diamond Sleet"',
                            'misp-galaxy:microsoft-activity-group="ZINC"')
    assert lazarus.galaxies == ("threat-actor", "microsoft-activity-group")
    assert mini.resolve("ZINC").actor is lazarus


def test_a_group_filed_under_a_bigger_actor_reaches_it(mini: Knowledge) -> None:
    carbanak = _actor(mini, "Carbanak")
    assert [c.value for c in carbanak.clusters] == ["Carbanak - G0008"]
    assert [c.value for c in carbanak.reached] == ["FIN7"]
    assert 'misp-galaxy:threat-actor="FIN7"' in carbanak.tags
    assert 'misp-galaxy:mitre-intrusion-set="Carbanak - G0008"' not in _actor(mini, "FIN7").tags


def test_deprecated_galaxies_and_other_galaxies_are_not_actors(mini: Knowledge) -> None:
    galaxies = {c.galaxy for a in mini.actors for c in a.clusters}
    assert galaxies == {"threat-actor", "mitre-intrusion-set", "microsoft-activity-group"}


def test_real_identities_stay_small(bundled: Knowledge) -> None:
    galaxy_count = len(bundled.galaxy_types)
    largest = max(len(a.primaries) for a in bundled.actors)
    assert largest <= galaxy_count
    for actor in bundled.actors:
        assert len({c.galaxy for c in actor.primaries}) == len(actor.primaries)
        assert len(actor.duplicates) <= 2, actor.name      # a renamed cluster or two, never a blob


def test_real_apt37_has_its_clusters(bundled: Knowledge) -> None:
    apt37 = _actor(bundled, "APT37")
    assert {c.tag for c in apt37.clusters} >= {
        'misp-galaxy:threat-actor="APT37"',
        'misp-galaxy:mitre-intrusion-set="APT37 - G0067"',
    }
