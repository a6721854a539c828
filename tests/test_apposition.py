"""Names given side by side: which gaps join two names of one actor, and how the names narrow each other."""

from __future__ import annotations

import pytest

from misp_actor_enrich.core.apposition import narrow, runs
from misp_actor_enrich.core.knowledge import Knowledge
from misp_actor_enrich.core.models import Status


def _spans(text: str, *names: str) -> list[tuple[int, int]]:
    out, at = [], 0
    for name in names:
        start = text.index(name, at)
        out.append((start, start + len(name)))
        at = start + len(name)
    return out


@pytest.mark.parametrize(("text", "names", "expected"), [
    ("known as APT35, or Charming Kitten, posed", ("APT35", "Charming Kitten"), [[0, 1]]),
    ("Fancy Bear, also known as APT28 or Sofacy, read mail", ("Fancy Bear", "APT28", "Sofacy"), [[0, 1, 2]]),
    ("Kimsuky (also tracked as APT43, Emerald Sleet and Velvet Chollima) sent",
     ("Kimsuky", "APT43", "Emerald Sleet", "Velvet Chollima"), [[0, 1, 2, 3]]),
    ("Scattered Spider (UNC3944, Octo Tempest) phoned", ("Scattered Spider", "UNC3944", "Octo Tempest"), [[0, 1, 2]]),
    ("the Reaper group, which FireEye calls APT37 and Kaspersky ScarCruft", ("Reaper", "APT37", "ScarCruft"),
     [[0, 1, 2]]),
    ("MuddyWater, which Microsoft tracks as Mango Sandstorm, used", ("MuddyWater", "Mango Sandstorm"), [[0, 1]]),
    ("Midnight Blizzard, the Russian state actor also known as APT29 and Cozy Bear, used",
     ("Midnight Blizzard", "APT29", "Cozy Bear"), [[0, 1, 2]]),
    ("Shell Crew, tracked by Mandiant as APT19", ("Shell Crew", "APT19"), [[0, 1]]),
    ("a new group dubbed Storm-0558, aka Antique Typhoon", ("Storm-0558", "Antique Typhoon"), [[0, 1]]),
    ("Cozy Bear / APT29", ("Cozy Bear", "APT29"), [[0, 1]]),
    ("Black Vine (APT19), and Shell Crew", ("Black Vine", "APT19", "Shell Crew"), [[0, 1]]),
    ("Fancy Bear (APT28), also known as Sofacy", ("Fancy Bear", "APT28", "Sofacy"), [[0, 1, 2]]),
])
def test_names_given_side_by_side(text: str, names: tuple[str, ...], expected: list[list[int]]) -> None:
    assert runs(text, _spans(text, *names)) == expected


@pytest.mark.parametrize(("text", "names"), [
    ("APT28, APT29 and Turla were active", ("APT28", "APT29", "Turla")),          # a list of actors
    ("APT35 or Charming Kitten may be behind it", ("APT35", "Charming Kitten")),   # alternatives: no comma
    ("APT28 attacked. APT29 also did", ("APT28", "APT29")),
    ("APT28 (Russia) and APT29", ("APT28", "APT29")),
    ("Turla hid its servers; later, in a different operation altogether, APT29 was seen", ("Turla", "APT29")),
    ("(APT28) APT29", ("APT28", "APT29")),                                       # a bracket it did not open
])
def test_names_not_side_by_side(text: str, names: tuple[str, ...]) -> None:
    assert runs(text, _spans(text, *names)) == []


def _narrowed(knowledge: Knowledge, text: str, *names: str) -> dict[str, str]:
    spans = _spans(text, *names)
    resolutions = [knowledge.resolve(text[s:e]) for s, e in spans]
    out = {}
    for settled in narrow(text, spans, resolutions, knowledge.index.holders):
        assert settled.resolution.status is Status.RESOLVED
        out[names[settled.index]] = settled.resolution.candidates[0].actor.name
        assert settled.because.startswith("named side by side in “") and settled.resolution.reason == settled.because
    return out


def test_two_names_sharing_one_actor_mean_it(real: Knowledge) -> None:
    text = "an Iranian group known as APT35, or Charming Kitten, posed as journalists"
    assert real.resolve("Charming Kitten").candidates[0].actor.name == "Charming Kitten"     # alone: another actor
    assert _narrowed(real, text, "APT35", "Charming Kitten") == {"Charming Kitten": "APT35"}
    spans = _spans(text, "APT35", "Charming Kitten")
    (settled,) = narrow(text, spans, [real.resolve("APT35"), real.resolve("Charming Kitten")], real.index.holders)
    assert settled.because == ("named side by side in “APT35, or Charming Kitten”: APT35 is the only actor "
                               "with both names")


def test_an_ambiguous_name_is_settled_by_the_name_beside_it(real: Knowledge) -> None:
    assert real.resolve("Imperial Kitten").status is Status.AMBIGUOUS
    assert _narrowed(real, "Imperial Kitten, also known as Tortoiseshell", "Imperial Kitten", "Tortoiseshell") == {
        "Imperial Kitten": "Tortoiseshell"}
    assert _narrowed(real, "Black Vine (APT19)", "Black Vine", "APT19") == {"Black Vine": "APT19"}


def test_nothing_changes_without_exactly_one_shared_actor(real: Knowledge) -> None:
    assert _narrowed(real, "Bleeding Bear (UNC2589)", "Bleeding Bear", "UNC2589") == {}        # two share both
    assert _narrowed(real, "APT28 (APT29)", "APT28", "APT29") == {}                             # none shares both
    assert _narrowed(real, "Fancy Bear, also known as APT28, and Cozy Bear (APT29)",
                     "Fancy Bear", "APT28", "Cozy Bear", "APT29") == {}              # two runs, one actor each


def test_a_run_is_cut_where_a_name_shares_nothing(real: Knowledge) -> None:
    text = "Charming Kitten, also known as APT35, and Shell Crew (APT19)"
    assert _narrowed(real, text, "Charming Kitten", "APT35", "Shell Crew", "APT19") == {
        "Charming Kitten": "APT35", "Shell Crew": "APT19"}
