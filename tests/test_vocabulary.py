"""Vocabulary: lookups (names, codes, CFR styles, demonyms, sectors, regions) and prose matching."""

from __future__ import annotations

import pytest
from conftest import load_vocab_fixture

from misp_actor_enrich.core.knowledge import Knowledge
from misp_actor_enrich.core.vocabulary import Kind, Vocabulary


@pytest.fixture(scope="module")
def bundled_vocab(bundled: Knowledge) -> Vocabulary:
    return bundled.vocabulary


@pytest.mark.parametrize("text, value", [
    ("South Korea", "South Korea"),
    ("south korea", "South Korea"),
    ("Republic of Korea", "South Korea"),
    ("The Republic of Korea", "South Korea"),
    ("KR", "South Korea"),
    ("KOR", "South Korea"),
    ("Korea (Republic of)", "South Korea"),
    ("Korea (Democratic People's Republic of)", "North Korea"),
    ("Korea (Democratic People’s Republic of)", "North Korea"),
    ("DPRK", "North Korea"),
    ("North Korean", "North Korea"),
    ("South Korean", "South Korea"),
    ("Russian Federation", "Russia"),
    ("Chinese", "China"),
    ("Iranian", "Iran"),
    ("Iran (Islamic Republic of)", "Iran"),
    ("U.S.", "United States"),
    ("American", "United States"),
    ("日本", "Japan"),
])
def test_country_lookup(vocab: Vocabulary, text: str, value: str) -> None:
    entry = vocab.country(text)
    assert entry is not None and entry.value == value and entry.kind is Kind.COUNTRY


def test_country_entry_is_target_item_ready(vocab: Vocabulary) -> None:
    entry = vocab.country("Republic of Korea")
    assert entry is not None
    assert (entry.value, entry.code, entry.galaxy_tag) == (
        "South Korea", "KR", 'misp-galaxy:target-information="South Korea"')


@pytest.mark.parametrize("text", ["Congo", "Korea", "Atlantis", "", "Bangladesh Bank"])
def test_country_unknown_or_ambiguous(vocab: Vocabulary, text: str) -> None:
    # "Congo" is a synonym of two clusters: refusing beats guessing.
    assert vocab.country(text) is None


def test_ambiguous_synonym_does_not_hide_values(vocab: Vocabulary) -> None:
    entry = vocab.country("Congo-Brazzaville")
    assert entry is not None and entry.code == "CG"


@pytest.mark.parametrize("text, value", [
    ("Government", "Government, Administration"),
    ("government administration", "Government, Administration"),
    ("Healthcare", "Health"),
    ("Media", "News - Media"),
    ("Financial Services", "Finance"),
    ("Financial", "Finance"),
    ("Defence", "Defense"),
    ("Defense industry", "Defense"),
    ("NGOs", "NGO"),
    ("Telecommunications", "Telecoms"),
    ("TELECOMMS", "Telecoms"),
    ("chemicals", "Chemical"),
    ("Electronics Manufacturers", "Electronic"),
])
def test_sector_lookup(vocab: Vocabulary, text: str, value: str) -> None:
    entry = vocab.sector(text)
    assert entry is not None and entry.value == value
    assert entry.galaxy_tag == f'misp-galaxy:sector="{value}"'


@pytest.mark.parametrize("text", ["Private sector", "Cryptocurrency", "Human Rights"])
def test_sector_without_fit(vocab: Vocabulary, text: str) -> None:
    assert vocab.sector(text) is None


def test_regions(vocab: Vocabulary) -> None:
    middle_east = vocab.region("The Middle East")
    assert middle_east is not None and middle_east.value == "Middle East" and middle_east.galaxy_tag is None
    sea = vocab.region("South-East Asia")
    assert sea is not None and sea.value == "Southeast Asia"
    assert sea.galaxy_tag == 'misp-galaxy:region="035 - South-eastern Asia"'
    assert vocab.country("Middle East") is None
    assert vocab.place("Europe") == vocab.region("European")


def test_region_tag_needs_region_galaxy() -> None:
    vocab = Vocabulary.from_galaxy_clusters(load_vocab_fixture("target-information"), load_vocab_fixture("sector"))
    entry = vocab.region("Europe")
    assert entry is not None and entry.galaxy_tag is None


def test_chinese_words(vocab: Vocabulary) -> None:
    assert vocab.english("俄罗斯") == ("Russia",)
    assert vocab.english("巴基斯坦等南亚国家") == ("Pakistan", "South Asia")
    assert vocab.english("中国及东南亚") == ("China", "Southeast Asia")
    assert vocab.english("国防军工") == ("Defense",)
    assert vocab.english("abc") == ()


def test_places_in_text_whole_words_longest_first(vocab: Vocabulary) -> None:
    text = "Targets in South Korea, the U.S. and Japanese firms; not Japanology, not USB or CHINA."
    found = [(m.text, m.entry.value, m.demonym) for m in vocab.places_in(text)]
    assert found == [("South Korea", "South Korea", False), ("U.S.", "United States", False),
                     ("Japanese", "Japan", True)]


def test_places_in_text_spans(vocab: Vocabulary) -> None:
    text = "hit Vietnam"
    (mention,) = vocab.places_in(text)
    assert text[mention.start:mention.end] == "Vietnam"


def test_sectors_in_text(vocab: Vocabulary) -> None:
    text = ("Targets Aerospace, chemicals, health-care and healthcare entities, NGOs and the government; "
            "uses social media and government-backed infrastructure; non-governmental groups too.")
    assert [m.entry.value for m in vocab.sectors_in(text)] == [
        "Aerospace", "Chemical", "Health", "Health", "NGO", "Government, Administration"]


def test_bundled_vocabulary(bundled_vocab: Vocabulary) -> None:
    assert len(bundled_vocab.countries) > 500
    kp = bundled_vocab.country("Korea (Democratic People's Republic of)")
    assert kp is not None and kp.code == "KP"
    assert bundled_vocab.country("Lebonon") == bundled_vocab.country("LB")        # typo seen in CFR data
    assert bundled_vocab.country("Congo") is None
    sea = bundled_vocab.region("Southeast Asian")
    assert sea is not None and sea.galaxy_tag == 'misp-galaxy:region="035 - South-eastern Asia"'
    assert [m.entry.value for m in bundled_vocab.places_in("offices in New Jersey and Jersey")] == ["Jersey"]


