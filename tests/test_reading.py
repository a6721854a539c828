"""Description reading: markup, sentences, masks, word senses and the part each place plays."""

from __future__ import annotations

import pytest
import sentence_set

from misp_actor_enrich.core.reading import read_description, read_sentence, sentences
from misp_actor_enrich.core.roles import Verdict
from misp_actor_enrich.core.vocabulary import Vocabulary


@pytest.fixture(scope="module")
def real_vocab() -> Vocabulary:
    return sentence_set.vocabulary()


def verdicts(sentence: str, vocab: Vocabulary, names: tuple[str, ...] = ()) -> dict[str, str]:
    return {r.mention.text: r.verdict.value for r in read_sentence(sentence, vocab, names)}


def test_links_are_unwrapped_before_urls_are_cut() -> None:
    # Cutting URLs first left "[A](  text [B](" and the link pattern then ate the text between the links.
    text = ("[FIN7](https://attack.mitre.org/groups/G0046) has targeted retail in the United States. "
            "[FIN7](https://attack.mitre.org/groups/G0046) used [Carbanak](https://attack.mitre.org/software/S0030)"
            " (Citation: FireEye FIN7 March 2017) against banks in Japan.<sup>[1](https://example.org/a_(b))</sup>")
    assert list(sentences(text)) == ["FIN7 has targeted retail in the United States.",
                                     "FIN7 used Carbanak against banks in Japan."]


def test_sentences_split_where_a_space_is_missing() -> None:
    assert list(sentences("It targets victims in southeast Asia.According to Elastic, it is new.")) == [
        "It targets victims in southeast Asia.", "According to Elastic, it is new."]


@pytest.mark.parametrize("sentence, expected", [
    # proper names and tool names
    ("It attacked the World Anti-Doping Agency.", {"World": "name"}),
    ("It hit the Organisation for the Prohibition of Chemical Weapons.", {"Chemical": "name"}),
    ("It targets control systems using a tool called Black Energy.", {"Energy": "name"}),
    ("It attacked Bahrain's Social Insurance Organization.", {"Bahrain": "victim", "Insurance": "name"}),
    ("It targeted nations in the South China Sea.", {"China": "name"}),
    ("It targeted Sapienza University and Truist Bank.", {"University": "victim", "Bank": "victim"}),
    ("It targeted the Energy Sector and Oil and Gas companies.", {"Energy": "victim", "Oil and Gas": "victim"}),
    # word senses
    ("Its exploits evade Windows defenses and target banks.", {"defenses": "sense", "banks": "victim"}),
    ("It targets spyware technologies.", {"technologies": "sense"}),
    ("It targets technology companies.", {"technology": "victim"}),
    ("It targeted a firm that sells products for industrial and military applications.",
     {"military": "sense"}),
    ("It stole terms such as EU energy dialogue.", {"energy": "sense"}),
    ("The group behind the Dridex banking trojan attacked firms.", {"banking": "sense"}),
    ("It was paid US$250,000 after the attack.", {"US": "sense"}),
    ("Its phishing lures show proficiency in Russian.", {"Russian": "sense"}),
    # roles that are not victims
    ("In 2021 the US and UK governments attributed the attack to the SVR.",
     {"US": "reporter", "UK": "reporter", "governments": "reporter"}),
    ("An advisory from the Belarusian CERT described the attacks.", {"Belarusian": "reporter"}),
    ("It sells a platform called REIGN to governments that target journalists.", {"governments": "customer"}),
    ("It targets NGOs using North Korean political topics as lures.", {"NGOs": "victim", "North Korean": "lure"}),
    ("The attacks impersonate Philippine government entities.", {"Philippine": "lure", "government": "lure"}),
    ("It attacked Japan from compromised infrastructure located in China and Taiwan.",
     {"Japan": "victim", "China": "infrastructure", "Taiwan": "infrastructure"}),
    ("It attacked government servers in Kuwait.", {"government": "victim", "Kuwait": "victim"}),
    ("Following attacks in the Gaza Strip, it attacked networks in Israel.", {"Gaza Strip": "context",
                                                                             "Israel": "victim"}),
    ("It targets Jordan amid the Israel-Iran conflict.", {"Jordan": "victim", "Israel": "context", "Iran": "context"}),
    ("It expanded its targeting beyond South Korea to Japan.", {"South Korea": "excluded", "Japan": "victim"}),
    ("It targets firms in nations neighbouring China.", {"China": "excluded"}),
    # origins
    ("CopyCop is a Russian covert influence network that attacks media.", {"Russian": "origin", "media": "victim"}),
    ("FBI has attributed malware used in this campaign to the North Korean government.",
     {"North Korean": "origin", "government": "origin"}),
    ("It is a People's Republic of China (PRC)-aligned actor that targets Japan.",
     {"People's Republic of China": "origin", "PRC": "origin", "Japan": "victim"}),
    ("North Korea's cyber operations target banks.", {"North Korea": "origin", "banks": "victim"}),
    # no targeting cue, no victim
    ("The group was named after a town in Japan.", {"Japan": "no-cue"}),
])
def test_verdicts(sentence: str, expected: dict[str, str], real_vocab: Vocabulary) -> None:
    got = verdicts(sentence, real_vocab)
    assert {k: got.get(k) for k in expected} == expected


def test_recall_terms(real_vocab: Vocabulary) -> None:
    sentence = ("It targeted political parties, an election campaign, public policy research institutes, research "
                "centres, the Olympic Games, humanitarian organizations, water utilities, airports, news outlets, "
                "Asian governments and Eastern Bloc embassies.")
    got = [r.entry.value for r in read_sentence(sentence, real_vocab) if r.verdict is Verdict.VICTIM]
    assert got == ["Political party", "Political party", "Think Tanks", "Research - Innovation", "Sport", "NGO",
                   "Water", "Civil Aviation", "News - Media", "Asia", "Government, Administration",
                   "Eastern Europe", "Diplomacy"]


def test_half_written_regions(real_vocab: Vocabulary) -> None:
    got = verdicts("It targets NGOs in Central and South America and in the Middle East and Africa.", real_vocab)
    assert got == {"NGOs": "victim", "Central America": "victim", "South America": "victim",
                   "Middle East": "victim", "Africa": "victim"}


def test_the_actors_own_names_are_masked(real_vocab: Vocabulary) -> None:
    text = "The Syrian Electronic Army attacked news media in Syria."
    assert verdicts(text, real_vocab) == {"Syrian": "origin", "news media": "victim", "Syria": "victim"}
    assert verdicts(text, real_vocab, ("Syrian Electronic Army",)) == {
        "Syrian": "name", "news media": "victim", "Syria": "victim"}


def test_domestic_only_when_the_sentence_says_so(real_vocab: Vocabulary) -> None:
    said = read_sentence("The group, based in Belarus, targets organizations in Belarus and Ukraine.", real_vocab)
    assert [(r.mention.text, r.verdict.value, r.domestic) for r in said] == [
        ("Belarus", "origin", False), ("Belarus", "victim", True), ("Ukraine", "victim", False)]
    assert [r.domestic for r in read_sentence("It targets Iranian dissidents.", real_vocab)] == [True, False]
    assert [r.domestic for r in read_sentence("It targets Iranian banks.", real_vocab)] == [False, False]


def test_every_reading_keeps_its_sentence_and_verdict(real_vocab: Vocabulary) -> None:
    reading = read_description("It is a Chinese group. It targets Japan, not via a tool called Black Energy.",
                               real_vocab)
    assert [(r.entry.value, r.sentence) for r in reading.victims] == [
        ("Japan", "It targets Japan, not via a tool called Black Energy.")]
    assert [(r.entry.value, r.verdict) for r in reading.origins] == [("China", Verdict.ORIGIN)]
    assert [(r.entry.value, r.verdict) for r in reading.dropped] == [("Energy", Verdict.NAME)]
