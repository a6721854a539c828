"""Site overrides: extra names, ignored names, pins, private actors, extra targeting; strict files."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import MINI_GALAXY

from misp_actor_enrich.core.errors import ConfigError
from misp_actor_enrich.core.knowledge import Knowledge
from misp_actor_enrich.core.models import Status
from misp_actor_enrich.data.overrides_file import parse
from misp_actor_enrich.data.store import load_knowledge
from misp_actor_enrich.misp import module

OVERRIDES = """
aliases:
  APT37: [Our APT37, Kimchi Reaper]
ignore:
  - HIDDEN COBRA
  - {name: Guardians of Peace, actor: Lazarus Group}
  - {name: Lazarus, actor: Lazarus Group}
pins:
  Andariel: Silent Chollima
actors:
  - name: SITE-APT-1
    aliases: [Blue Heron]
    description: Seen only against our sector.
    targeting: {countries: [Germany], sectors: [Energy]}
  - name: Our Name For FIN7
    same_as: FIN7
targeting:
  APT37: {countries: [North Korea, Germany], incident_types: [Sabotage]}
"""


def _knowledge(text: str = OVERRIDES, path: Path = Path("site/overrides.yaml")) -> Knowledge:
    return load_knowledge(MINI_GALAXY, label="fixture", overrides=parse(text, path))


@pytest.fixture(scope="module")
def site() -> Knowledge:
    return _knowledge()


def _resolved(knowledge: Knowledge, name: str) -> str:
    resolution = knowledge.resolve(name)
    assert resolution.status is Status.RESOLVED, resolution
    return resolution.candidates[0].actor.name


def test_extra_names_reach_the_actor_and_its_tags(site: Knowledge) -> None:
    for name in ("Our APT37", "Kimchi Reaper", "Reaper"):
        assert _resolved(site, name) == "APT37"
    actor = site.resolve("Our APT37").candidates[0].actor
    assert actor.tags == ('misp-galaxy:threat-actor="APT37"', 'misp-galaxy:mitre-intrusion-set="APT37 - G0067"')


def test_ignored_names_stop_matching(site: Knowledge, mini: Knowledge) -> None:
    assert mini.resolve("HIDDEN COBRA").status is Status.RESOLVED
    assert site.resolve("HIDDEN COBRA").status is Status.UNKNOWN
    # ignored for Lazarus only: the other actor holding it is left
    assert mini.resolve("Guardians of Peace").status is Status.AMBIGUOUS
    assert _resolved(site, "Guardians of Peace") == "Silent Chollima"


@pytest.mark.parametrize("query", ["HIDDEN COBRA", "hidden-cobra", "the HIDDEN COBRA group", "HIDDEN COBRA (DPRK)",
                                   "Operation HIDDEN COBRA", "HIDDEN KOBRA"])
def test_a_global_ignore_holds_on_every_tier(site: Knowledge, mini: Knowledge, query: str) -> None:
    assert mini.resolve(query).candidates[0].actor.name == "Lazarus Group"    # each tier finds it without the file
    resolution = site.resolve(query)
    assert resolution.status is Status.UNKNOWN, resolution
    assert resolution.candidates == ()


@pytest.mark.parametrize("query", ["Lazarus", "lazarus!", "the Lazarus gang", "Lazarus (North Korea)", "Operation Lazarus"])
def test_an_ignore_for_one_actor_holds_on_every_tier(site: Knowledge, mini: Knowledge, query: str) -> None:
    # Without the file, the qualifier tier (and the near-miss tier) finds "Lazarus" in "Lazarus Group".
    assert mini.resolve(query).candidates[0].actor.name == "Lazarus Group"
    resolution = site.resolve(query)
    assert "Lazarus Group" not in {c.actor.name for c in resolution.candidates}, resolution
    assert _resolved(site, "Lazarus Group") == "Lazarus Group"               # its other names still match


def test_an_ignore_for_one_actor_holds_for_near_misses(site: Knowledge, mini: Knowledge) -> None:
    assert {c.actor.name for c in mini.resolve("Guardians of Piece").candidates} == {"Lazarus Group", "Silent Chollima"}
    suggested = site.resolve("Guardians of Piece")
    assert suggested.status is Status.SUGGESTED
    assert [c.actor.name for c in suggested.candidates] == ["Silent Chollima"]


def test_a_pin_resolves_an_ambiguous_name(site: Knowledge, mini: Knowledge) -> None:
    assert mini.resolve("Andariel").candidates[0].actor.name == "Andariel"
    pinned = site.resolve("Andariel")
    assert pinned.status is Status.RESOLVED and pinned.pinned
    assert pinned.candidates[0].actor.name == "Silent Chollima" and "pinned" in pinned.reason


def test_overrides_hold_for_holders(site: Knowledge) -> None:
    """Names given side by side cannot bring back what the site ignores, nor undo a pin."""
    assert site.index.holders("HIDDEN COBRA") == ()
    assert "Lazarus Group" not in {c.actor.name for c in site.index.holders("Guardians of Peace")}
    assert [c.actor.name for c in site.index.holders("Andariel")] == ["Silent Chollima"]


@pytest.mark.parametrize("query", ["the Andariel group", "Andariel (North Korea)", "Operation Andariel", "ANDARIEL"])
def test_a_pin_holds_on_every_tier(site: Knowledge, query: str) -> None:
    pinned = site.resolve(query)
    assert pinned.status is Status.RESOLVED and pinned.pinned, pinned
    assert pinned.candidates[0].actor.name == "Silent Chollima"


def test_a_pin_holds_for_near_misses(site: Knowledge, mini: Knowledge) -> None:
    assert mini.resolve("Andarial").candidates[0].actor.name == "Andariel"
    suggested = site.resolve("Andarial")
    assert suggested.status is Status.SUGGESTED
    assert [c.actor.name for c in suggested.candidates] == ["Silent Chollima"]


def test_private_actors_answer_with_objects_but_no_tags(site: Knowledge, use_mini: Knowledge,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    assert _resolved(site, "Blue Heron") == "SITE-APT-1"
    from misp_actor_enrich.data import runtime
    runtime.install(site)
    body = module.dict_handler({"event_id": "1", "attribute": {"type": "threat-actor", "value": "Blue Heron"}})
    results = body["results"]
    assert "Tag" not in results
    intrusion_set = results["Object"][0]
    assert intrusion_set["Attribute"][0]["value"] == "SITE-APT-1"
    assert not any(a.get("Tag") for a in intrusion_set["Attribute"])
    victim = results["Object"][1]
    assert {a["value"] for a in victim["Attribute"]} >= {"Germany", "Energy"}


def test_a_private_name_for_a_known_actor_joins_it(site: Knowledge) -> None:
    assert _resolved(site, "Our Name For FIN7") == "FIN7"


def test_extra_targeting_says_where_it_came_from(site: Knowledge) -> None:
    actor = site.resolve("APT37").candidates[0].actor
    targeting = site.targeting(actor)
    # North Korea is APT37's home: the override says it attacked there, so it is domestic, not a victim abroad
    assert [(i.value, [s.galaxy for s in i.sources]) for i in targeting.domestic] == [("North Korea", ["site-overrides"])]
    # a name the vocabulary does not know is kept, not dropped
    germany = next(i for i in targeting.items() if i.value == "Germany")
    assert [s.galaxy for s in germany.sources] == ["site-overrides"]
    assert "Sabotage" in [i.value for i in targeting.incident_types]


def test_references_the_data_does_not_know_are_warnings(tmp_path: Path) -> None:
    knowledge = _knowledge("aliases:\n  No Such Actor: [X]\npins:\n  Andariel: Nobody\n", tmp_path / "o.yaml")
    said = [w for w in knowledge.warnings if "o.yaml" in w]      # the mini galaxy's broken entries are said too
    assert len(said) == 2 and all("no cluster is named" in w for w in said)


@pytest.mark.parametrize(("text", "expected"), [
    ("alias:\n  APT37: [x]\n", ":1: alias: unknown section"),
    ("aliases:\n  APT37: 5\n", ":2: aliases.APT37: expected a name or a list of names"),
    ("aliases:\n  APT37: ['---']\n", ":2: aliases.APT37: expected a name with letters or digits"),
    ("ignore: Reaper\n", ":1: ignore: expected a list"),
    ("ignore:\n  - {nam: Reaper}\n", ":2: ignore.nam: expected name"),
    ("pins:\n  Andariel: [a, b]\n", ":2: pins.Andariel: expected a name"),
    ("actors:\n  - aliases: [x]\n", ":2: actors[0].name: missing"),
    ("actors:\n  - name: X\n    colour: red\n", ":3: actors[0].colour: unknown key"),
    ("targeting:\n  APT37: {victims: [Japan]}\n", ":2: targeting.APT37.victims: unknown targeting"),
    ("pins:\n  Andariel: a\n  Andariel: b\n", ":3: pins.Andariel: duplicate key"),
])
def test_malformed_files_name_file_line_and_key(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(text, Path("/etc/site/overrides.yaml"))
    assert str(caught.value).startswith("/etc/site/overrides.yaml") and expected in str(caught.value)
