"""Issue 9's promises, over the whole of both real data sets (bundled current misp-galaxy, and pymispgalaxies').

- every threat-actor cluster value, typed as the galaxy spells it, resolves to its own cluster;
- at most 1 % of the names in the data are ambiguous;
- identities never chain: one primary cluster per galaxy, a few duplicates at most;
- every Microsoft cluster that names a threat-actor actor reaches that threat-actor cluster,
  except where the galaxies themselves disagree (listed below with the reason).
"""

from __future__ import annotations

from collections import Counter

import pytest

from misp_actor_enrich.core.galaxy import RANSOMWARE
from misp_actor_enrich.core.knowledge import Knowledge
from misp_actor_enrich.core.models import Cluster, Status
from misp_actor_enrich.core.names import normalise

HUB = "threat-actor"
MICROSOFT = "microsoft-activity-group"


def _hub_clusters(knowledge: Knowledge) -> list[Cluster]:
    return [c for a in knowledge.actors for c in a.clusters if c.galaxy == HUB]


def test_every_threat_actor_value_resolves_to_its_own_cluster(real: Knowledge) -> None:
    clusters = _hub_clusters(real)
    shared = Counter(normalise(c.value) for c in clusters)
    wrong = []
    for cluster in clusters:
        resolution = real.resolve(cluster.value)
        if shared[normalise(cluster.value)] > 1:     # two clusters of threat-actor with one name: ambiguous
            assert resolution.status is Status.AMBIGUOUS, cluster.value
        elif resolution.status is not Status.RESOLVED or cluster not in resolution.candidates[0].actor.clusters:
            wrong.append(f"{cluster.value}: {resolution.status.value} ({resolution.reason})")
        else:
            assert cluster.tag in resolution.candidates[0].tags
    assert wrong == []


def test_at_most_one_percent_of_the_names_are_ambiguous(real: Knowledge) -> None:
    # A name is counted once however the data capitalises or punctuates it ("IMPERIAL KITTEN" / "Imperial
    # Kitten"), and counts as ambiguous when any of its spellings is.
    spellings: dict[str, set[str]] = {}
    for actor in real.actors:
        for cluster in actor.clusters:
            for name in (cluster.value, cluster.name, *cluster.synonyms):
                if normalise(name):         # the ransomware galaxy has a "$$$": no letters, it matches nothing
                    spellings.setdefault(normalise(name), set()).add(name)
    statuses = {key: {real.resolve(n).status for n in written} for key, written in spellings.items()}
    ambiguous = sorted(key for key, found in statuses.items() if Status.AMBIGUOUS in found)
    assert len(ambiguous) <= len(spellings) / 100, ambiguous
    assert all(found == {Status.RESOLVED} for key, found in statuses.items() if key not in ambiguous)


def test_identities_never_chain(real: Knowledge) -> None:
    galaxies = len(real.galaxy_types)
    for actor in real.actors:
        assert len({c.galaxy for c in actor.primaries}) == len(actor.primaries) <= galaxies, actor.name
        assert len(actor.duplicates) <= 2, actor.name
    # The duplicates are few and each names a galaxy's second cluster for one actor; in the ransomware
    # galaxy, one operation filed under two spellings ("Mount Locker", "mountlocker") or an actor's persona.
    assert sum(1 for a in real.actors for d in a.duplicates if d.galaxy != RANSOMWARE) < 30
    assert sum(1 for a in real.actors for d in a.duplicates if d.galaxy == RANSOMWARE) < 30


# Microsoft clusters whose synonyms name a threat-actor cluster their identity does not hold or reach,
# on the bundled data, and why. An identity holds one threat-actor cluster (plus its duplicates), so a
# Microsoft cluster that names two actors threat-actor keeps apart reaches the better supported one.
TWO_ACTORS = "names two actors threat-actor keeps apart; its identity has the other"
MICROSOFT_EXCEPTIONS = {
    "Zigzag Hail": ("APT-C-60", TWO_ACTORS + " (DarkHotel)"),
    "Raspberry Typhoon": ("APT30", TWO_ACTORS + " (LOTUS PANDA)"),
    "Linen Typhoon": ("UNC215", TWO_ACTORS + " (APT27)"),
    "Onyx Sleet": ("APT45", TWO_ACTORS + " (Silent Chollima)"),
    "Storm-0156": ("SideCopy", TWO_ACTORS + " (Transparent Tribe, threat-actor's 'Operation C-Major')"),
    "Circle Typhoon": ("APT27", TWO_ACTORS + " (APT6; Linen Typhoon is APT27's)"),
    "Mint Sandstorm": ("Charming Kitten", TWO_ACTORS + " (APT35, with ATT&CK's Magic Hound)"),
    "Manatee Tempest": ("Evil Corp", TWO_ACTORS + " (INDRIK SPIDER)"),
    "Sapphire Sleet": ("UNC1069", TWO_ACTORS + " (STARDUST CHOLLIMA)"),
    "Burgundy Sandstorm": ("Cadelle", TWO_ACTORS + " (APT39, which lists Chafer)"),
    "Canary Typhoon": ("APT24", TWO_ACTORS + " (BlackTech)"),
    "Spandex Tempest": ("TA505", TWO_ACTORS + " (MONTY SPIDER)"),
    "Lace Tempest": ("FIN11, TA505", TWO_ACTORS + " (DEV-0950)"),
    "Smoke Sandstorm": ("UNC1549", TWO_ACTORS + " (Bohrium)"),
    "Cotton Sandstorm": ("ViceLeaker", TWO_ACTORS + " (its namesake Cotton Sandstorm)"),
    "Mustard Tempest": ("INDRIK SPIDER", TWO_ACTORS + " (its namesake Mustard Tempest)"),
    "Opal Sleet": ("APT43", TWO_ACTORS + " (its namesake Opal Sleet; APT43 is a duplicate of Kimsuky)"),
    "Red Sandstorm": ("BANISHED KITTEN", TWO_ACTORS + " (Void Manticore)"),
    "Pinstripe Lightning": ("AridViper", TWO_ACTORS + " (its namesake Pinstripe Lightning)"),
    "Seashell Blizzard": ("IRIDIUM", "a name collision: threat-actor's IRIDIUM is an Iranian actor, "
                                     "Microsoft's former IRIDIUM is Sandworm"),
    "Star Blizzard": ("Cold River", "a name collision: Microsoft lists COLDRIVER (Callisto); threat-actor's "
                                    "Cold River is another actor"),
    "GALLIUM": ("Operation Soft Cell", "an operation: it is filed under GALLIUM (and reaches it), not the reverse"),
}


def test_microsoft_clusters_reach_the_threat_actor_clusters_they_name(bundled: Knowledge) -> None:
    by_name: dict[str, list[Cluster]] = {}
    for cluster in _hub_clusters(bundled):
        for key in {normalise(cluster.value), normalise(cluster.name)}:
            by_name.setdefault(key, []).append(cluster)
    missed: dict[str, str] = {}
    checked = 0
    for actor in bundled.actors:
        reached = {c.uuid for c in (*actor.clusters, *actor.reached)}
        for cluster in actor.clusters:
            if cluster.galaxy != MICROSOFT:
                continue
            named = {t.uuid: t for s in cluster.synonyms for t in by_name.get(normalise(s), ())}
            checked += bool(named)
            lost = sorted(t.value for u, t in named.items() if u not in reached)
            if lost:
                missed[cluster.value] = ", ".join(lost)
                assert any(c.galaxy == HUB for c in (*actor.clusters, *actor.reached)), cluster.value
    assert missed == {name: value for name, (value, _) in MICROSOFT_EXCEPTIONS.items()}
    assert checked > 80 and len(missed) < checked / 3


@pytest.mark.parametrize(("query", "clusters"), [
    ("APT3", {'threat-actor="APT3"', 'microsoft-activity-group="Brocade Typhoon"'}),
    ("Brocade Typhoon", {'threat-actor="APT3"', 'microsoft-activity-group="Brocade Typhoon"'}),
    ("APT12", {'threat-actor="APT12"', 'microsoft-activity-group="Hexagon Typhoon"'}),
    ("APT17", {'threat-actor="APT17"', 'microsoft-activity-group="Heart Typhoon"'}),
    ("FIN8", {'threat-actor="FIN8"', 'microsoft-activity-group="Storm-0288"'}),
    ("Tonto Team", {'threat-actor="Tonto Team"', 'microsoft-activity-group="Copper Typhoon"'}),
    ("BlackTech", {'threat-actor="BlackTech"', 'microsoft-activity-group="Canary Typhoon"'}),
    ("Storm-0558", {'threat-actor="Storm-0558"', 'microsoft-activity-group="Antique Typhoon"'}),
    ("RomCom", {'threat-actor="RomCom"', 'microsoft-activity-group="Storm-0978"'}),
    ("Volatile Cedar", {'threat-actor="Volatile Cedar"', 'mitre-intrusion-set="Volatile Cedar - G0123"'}),
    ("APT43", {'threat-actor="APT43"', 'threat-actor="Kimsuky"'}),
    ("Raspberry Typhoon", {'threat-actor="Raspberry Typhoon"', 'microsoft-activity-group="Raspberry Typhoon"'}),
    ("Midnight Blizzard", {'threat-actor="APT29"', 'microsoft-activity-group="NOBELIUM"'}),
])
def test_names_the_issue_found_ambiguous_now_resolve(bundled: Knowledge, query: str, clusters: set[str]) -> None:
    resolution = bundled.resolve(query)
    assert resolution.status is Status.RESOLVED, resolution.reason
    assert {f"misp-galaxy:{c}" for c in clusters} <= set(resolution.candidates[0].tags)


def test_microsofts_renamed_clusters_are_one_actor(bundled: Knowledge) -> None:
    apt28 = bundled.resolve("STRONTIUM").candidates[0].actor
    assert apt28 is bundled.resolve("Forest Blizzard").candidates[0].actor is bundled.resolve("APT28").actor
    microsoft = [c.value for c in apt28.clusters if c.galaxy == MICROSOFT]
    assert microsoft == ["Forest Blizzard", "STRONTIUM"]          # the cluster listing the other is primary
    assert [c.value for c in apt28.duplicates] == ["STRONTIUM"]
