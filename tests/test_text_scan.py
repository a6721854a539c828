"""TextScanner: actor names in free text, on the mini galaxy and the real bundled data."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from misp_actor_enrich.core.knowledge import Knowledge
from misp_actor_enrich.core.models import Status
from misp_actor_enrich.core.text_scan import TextScan, TextScanner, snippet

TEXTS = Path(__file__).resolve().parent.parent / "fixtures" / "texts"
QUIET = sorted(TEXTS.glob("quiet_*.txt"))


@pytest.fixture(scope="module")
def mini_scanner(mini: Knowledge) -> TextScanner:
    return TextScanner.from_knowledge(mini)


@pytest.fixture(scope="module")
def real_scanner(bundled: Knowledge) -> TextScanner:
    return TextScanner.from_knowledge(bundled)


def _found(scan: TextScan) -> list[tuple[str, tuple[str, ...]]]:
    """(status and actor names, names as written) per finding, in order."""
    out = []
    for finding in scan.findings:
        actors = "+".join(sorted(c.actor.name for c in finding.resolution.candidates))
        label = actors if finding.status is Status.RESOLVED else f"ambiguous:{actors}"
        out.append((label, finding.names))
    return out


def _actors(scanner: TextScanner, text: str) -> list[str]:
    return [label for label, _ in _found(scanner.scan(text))]


# --- news-style paragraphs -------------------------------------------------------


def test_a_news_paragraph_on_the_mini_galaxy(mini_scanner: TextScanner) -> None:
    text = (TEXTS / "news_north_korea.txt").read_text(encoding="utf-8")
    scan = mini_scanner.scan(text)
    assert _found(scan) == [
        ("APT37", ("Reaper", "APT37", "ScarCruft")),
        ("Lazarus Group", ("Lazarus Group", "Lazarus", "ZINC")),
        ("Andariel", ("Andariel",)),          # ATT&CK's own cluster name beats threat-actor's synonyms
    ]
    apt37 = scan.findings[0]
    assert apt37.resolution.status is Status.RESOLVED and apt37.resolution.query == "Reaper"
    for mention in apt37.mentions:
        assert text[mention.start:mention.end] == mention.text
    assert "«Reaper» group, which FireEye calls APT37" in apt37.snippet
    assert "\n" not in apt37.snippet
    assert scan.resolved == scan.findings and scan.ambiguous == ()


def test_north_korea_on_the_real_data(real_scanner: TextScanner) -> None:
    scan = real_scanner.scan((TEXTS / "news_north_korea.txt").read_text(encoding="utf-8"))
    assert _found(scan) == [
        ("APT37", ("Reaper", "APT37", "ScarCruft", "Group123")),
        ("Lazarus Group", ("Lazarus Group", "Lazarus", "ZINC")),
        ("Kimsuky", ("Kimsuky",)),
        ("Silent Chollima", ("Andariel",)),      # ATT&CK's Andariel lists Silent Chollima: one identity
    ]


def test_russia_on_the_real_data(real_scanner: TextScanner) -> None:
    found = dict(_found(real_scanner.scan((TEXTS / "news_russia.txt").read_text(encoding="utf-8"))))
    assert found["APT28"] == ("Fancy Bear", "APT28", "Sofacy")
    # UNC2452 and NOBELIUM are APT29 to ATT&CK and Microsoft, and threat-actor's two clusters duplicates.
    assert found["APT29"] == ("Cozy Bear", "APT29", "NOBELIUM", "unc2452")
    assert found["ambiguous:APT28+APT29"] == ("Grizzly Steppe",)      # the galaxies give it to both
    assert found["Sandworm"] == ("Sandworm Team",)
    assert found["Turla"] == ("Turla",)


def test_crime_on_the_real_data(real_scanner: TextScanner) -> None:
    found = dict(_found(real_scanner.scan((TEXTS / "news_crime.txt").read_text(encoding="utf-8"))))
    assert list(found) == ["Silence group", "Cobalt", "TA505", "FIN7", "Tick", "Equation Group",
                           "The Shadow Brokers"]
    assert found["Cobalt"] == ("Cobalt Group",)


@pytest.mark.parametrize("path", QUIET, ids=[p.stem for p in QUIET])
def test_quiet_texts_name_no_actor(path: Path, mini_scanner: TextScanner, real_scanner: TextScanner) -> None:
    text = path.read_text(encoding="utf-8")
    assert mini_scanner.scan(text).findings == ()
    assert real_scanner.scan(text).findings == ()


# --- how names must be written ---------------------------------------------------


def test_ids_match_in_any_case_and_spacing(mini_scanner: TextScanner) -> None:
    scan = mini_scanner.scan("apt37, Apt37, APT 37, apt-37, ＡＰＴ３７ and g0067 were seen.")
    assert _found(scan) == [("APT37", ("apt37", "Apt37", "APT 37", "apt-37", "ＡＰＴ３７", "g0067"))]


@pytest.mark.parametrize("text", [
    "apt 37 was seen",                       # a spaced-out id is written in capitals
    "APT370 and xAPT37 and APT37x",          # whole words only
    "it wrote apt37.exe",                    # a file name, not a mention
    "see https://example.org/groups/G0067",  # inside a URL
    "the $(mandir)/apt37 folder",            # a lower-case path
    "the Reapers group and a preaper",       # never inside a longer word
    "ScarKruft was seen",                    # near misses are never reported from free text
])
def test_what_is_not_a_mention(mini_scanner: TextScanner, text: str) -> None:
    assert mini_scanner.scan(text).findings == ()


def test_a_prefix_is_never_a_match(mini_scanner: TextScanner) -> None:
    assert _actors(mini_scanner, "APT3 and APT30 differ") == ["APT3", "APT30"]


def test_the_longest_name_wins(mini_scanner: TextScanner) -> None:
    (finding,) = mini_scanner.scan("The Sandworm Team struck.").findings
    assert finding.names == ("Sandworm Team",) and finding.resolution.candidates[0].actor.name == "Sandworm"
    (finding,) = mini_scanner.scan("the Lazarus Group").findings
    assert [m.text for m in finding.mentions] == ["Lazarus Group"]


@pytest.mark.parametrize(("text", "found"), [
    ("Voodoo Bear struck", ["Sandworm"]),
    ("VOODOO BEAR struck", ["Sandworm"]),
    ("Voodoo\nBear struck", ["Sandworm"]),               # a name wrapped over two lines
    ("voodoo bear costumes", []),                       # capitalised words must be capitalised
    ("Voodoo bear costumes", []),
    ("Microsoft calls it ZINC.", ["Lazarus Group"]),    # an all-caps name in capitals
    ("Zinc is a metal.", []),
    ("ZINC OXIDE is in sunscreen.", []),                # an all-caps run is a heading, not a name
    ("ScarCruft malware was found", []),                # a name followed by a malware word names the tool
])
def test_capitalisation_follows_the_data(mini_scanner: TextScanner, text: str, found: list[str]) -> None:
    assert _actors(mini_scanner, text) == found


@pytest.mark.parametrize(("text", "found"), [
    ("Reaper came back.", []),                          # an ordinary word alone is not a name
    ("The reaper came back.", []),
    ("the Reaper group came back.", ["APT37"]),         # an actor word next to it
    ("Reaper threat actor", ["APT37"]),
    ("a threat actor known as Reaper", ["APT37"]),
    ("Reaper is a North Korean threat group.", ["APT37"]),
    ("Reaper, Lazarus Group and FIN7 were busy.", ["APT37", "Lazarus Group", "FIN7"]),   # a list of actors
    ("Reaper struck again; APT37 is busy.", ["APT37"]),  # another name of the same actor
    ("Reaper Blades were sold; APT37 is busy.", ["APT37"]),   # a capitalised word after it: a title
    ("IoT Reaper and MQ-9 Reaper; APT37 is busy.", ["APT37"]),   # ... or before it: another thing's name
])
def test_ordinary_words_need_evidence(real_scanner: TextScanner, text: str, found: list[str]) -> None:
    assert _actors(real_scanner, text) == found


def test_evidence_from_another_name_adds_the_mention(real_scanner: TextScanner) -> None:
    (finding,) = real_scanner.scan("Reaper struck again; APT37 is busy.").findings
    assert finding.names == ("Reaper", "APT37")
    for text in ("Reaper Blades were sold; APT37 is busy.", "IoT Reaper and MQ-9 Reaper; APT37 is busy."):
        (finding,) = real_scanner.scan(text).findings
        assert finding.names == ("APT37",)


@pytest.mark.parametrize(("text", "found"), [
    ("Silence fell.", []),
    ("the Silence gang", ["Silence group"]),
    ("Cobalt Strike beacons", []),
    ("the Cobalt group", ["Cobalt"]),
    ("the Equation Editor flaw", []),
    ("Snake ransomware", []),
    ("the Snake group, also called Turla", ["Turla"]),
    ("Lead poisoning", []),
    ("LEAD and BARIUM", ["Winnti Group", "APT41"]),       # Microsoft's LEAD is ATT&CK's Winnti Group
    ("Play resumed after rain.", []),
    ("fancy bear costumes", []),
    ("The Big Bang", []),
    ("Group 3 answered.", []),
    ("Reaper, also known as Group 123", ["APT37"]),
])
def test_ordinary_words_on_the_real_data(real_scanner: TextScanner, text: str, found: list[str]) -> None:
    assert _actors(real_scanner, text) == found


def test_ambiguous_names_are_reported_as_ambiguous(real_scanner: TextScanner) -> None:
    (finding,) = real_scanner.scan("The Grizzly Steppe report.").findings
    assert finding.status is Status.AMBIGUOUS
    assert {c.actor.name for c in finding.resolution.candidates} == {"APT28", "APT29"}


# --- output ----------------------------------------------------------------------


def test_snippet_is_short_on_word_boundaries_and_marked() -> None:
    text = "word " * 40 + "the Reaper\ngroup struck " + "again " * 40
    start = text.index("Reaper")
    quoted = snippet(text, start, start + len("Reaper"))
    assert quoted.startswith("…word ") and quoted.endswith(" again…")
    assert "the «Reaper» group struck" in quoted
    assert len(quoted) <= 125


def test_empty_and_nameless_text(mini_scanner: TextScanner) -> None:
    assert mini_scanner.scan("").findings == ()
    assert mini_scanner.scan("——— 123 ...").findings == ()


def test_a_scanner_is_shared_between_threads(real_scanner: TextScanner) -> None:
    text = (TEXTS / "news_russia.txt").read_text(encoding="utf-8") * 20
    expected = real_scanner.scan(text)
    results: list[TextScan] = []

    def work() -> None:
        results.append(real_scanner.scan(text))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [expected] * 4


@pytest.mark.parametrize("text", ["\nAPT37 attacked banks", " APT37", "\t\tAPT37 and more", "\u00a0APT37."])
def test_a_name_after_nothing_but_whitespace(mini_scanner: TextScanner, text: str) -> None:
    assert _actors(mini_scanner, text) == ["APT37"]


# --- names with another meaning, names given side by side --------------------------


@pytest.mark.parametrize(("text", "found"), [
    ("The raising of Lazarus is told in the Gospel of John.", []),
    ("Lazarus stole the funds with custom malware.", ["Lazarus Group"]),           # a text about security
    ("Lazarus stole the funds; Kimsuky phished diplomats.", ["Lazarus Group", "Kimsuky"]),   # a distinctive name
    ("Lazarus called 185.220.101.4 every minute.", ["Lazarus Group"]),              # an indicator
    ("The Fremen ride a Sandworm across Arrakis.", []),
    ("The Sandworm group hit the grid.", ["Sandworm"]),                            # an actor word beside it
    ("A Sandworm ate Lazarus of Bethany.", []),            # two names with other meanings never vouch for each other
    ("Dragonfly, a group that targeted energy firms.", ["ENERGETIC BEAR"]),        # an ordinary word, defined
    ("Confucius, a philosopher whose group of disciples grew.", []),
    ("The Poseidon agent beaconed; hackers used it.", []),                          # a tool word after it
    ("Mozart wrote it in C Major.", []),
    ("The Neva Flood of 1824 drowned hundreds.", []),
])
def test_names_with_another_meaning_need_a_security_context(real_scanner: TextScanner, text: str,
                                                            found: list[str]) -> None:
    assert _actors(real_scanner, text) == found


def test_a_finding_says_why_a_name_with_another_meaning_counted(real_scanner: TextScanner) -> None:
    (finding,) = real_scanner.scan("Lazarus stole the funds with custom malware. Lazarus again.").findings
    assert finding.because == ("“Lazarus” also has another meaning; counted because the text is about security "
                               "(“malware”)")
    (finding,) = real_scanner.scan("The Lazarus group stole the funds with malware.").findings
    assert finding.because == ""                         # it counted on its own


def test_names_side_by_side_settle_one_actor(real_scanner: TextScanner) -> None:
    scan = real_scanner.scan("Researchers said an Iranian group known as APT35, or Charming Kitten, posed as "
                             "journalists. Imperial Kitten, also known as Tortoiseshell, targeted shipping.")
    assert _found(scan) == [("APT35", ("APT35", "Charming Kitten")),
                            ("Tortoiseshell", ("Imperial Kitten", "Tortoiseshell"))]
    first, second = scan.findings
    assert first.because == "named side by side in “APT35, or Charming Kitten”: APT35 is the only actor with both names"
    assert second.because.startswith("named side by side in “Imperial Kitten, also known as Tortoiseshell”")
    # Alone, each gives another answer.
    assert _actors(real_scanner, "Charming Kitten posed as journalists.") == ["Charming Kitten"]
    assert _actors(real_scanner, "Imperial Kitten targeted shipping.") == ["ambiguous:Bohrium+Tortoiseshell"]


def test_a_name_beside_a_distinctive_one_needs_no_subject(real_scanner: TextScanner) -> None:
    (finding,) = real_scanner.scan("Imperial Kitten, also known as Tortoiseshell, sent fake job offers.").findings
    assert finding.resolution.candidates[0].actor.name == "Tortoiseshell"
    assert finding.names == ("Imperial Kitten", "Tortoiseshell")
    assert finding.because.startswith("named side by side") and "another meaning" not in finding.because
    assert real_scanner.scan("Tortoiseshell cats are almost always female.").findings == ()


# --- ransomware operations (issue 15) ------------------------------------------------------


def test_ransomware_news_on_the_real_data(real_scanner: TextScanner) -> None:
    scan = real_scanner.scan((TEXTS / "news_ransomware.txt").read_text(encoding="utf-8"))
    assert _found(scan) == [
        ("Cuba", ("Cuba", "COLDDRAW")),          # "the Cuba ransomware gang"; then Cuba's other name
        ("LockBit", ("LockBit",)),
        ("BlackCat", ("ALPHV", "BlackCat")),
        ("Clop", ("Cl0p",)),
        ("Storm-1567", ("Akira",)),              # ATT&CK's Akira, one actor with the ransomware galaxy's
        ("Hive", ("Hive",)),                     # "Hive" then "ransomware" on the next line
    ]
    # "a Russian ransomware gang", "a Telegram group", "Royal, Maze and Ghost" alone: no operation.


@pytest.mark.parametrize(("text", "found"), [
    ("We landed in Cuba before breakfast.", []),                     # a country
    ("The Cuba ransomware gang struck.", ["Cuba"]),
    ("Cuba ransomware encrypted the servers.", ["Cuba"]),
    ("They chatted in a Telegram group.", []),                       # an actor word is no evidence for a word
    ("Unknown group claims the attack.", []),
    ("Reaper is a North Korean threat group.", ["APT37"]),           # a nationality is never a name
    ("Wasted Locker ransomware hit them.", []),                      # the end of a longer name
    ("At 3 AM the Windows 10 laptop showed a 0-day.", []),           # digits beside ordinary words
    ("McAfee ransomware research", []),                              # a company
    ("Snake ransomware", []),                                        # Turla's Snake: the operation is not named
])
def test_ransomware_names_that_are_ordinary_words_need_evidence(real_scanner: TextScanner, text: str,
                                                                found: list[str]) -> None:
    assert _actors(real_scanner, text) == found
