"""security_subject: whether a text is about security, from its words and its indicators."""

from __future__ import annotations

import pytest

from misp_actor_enrich.core.security_context import security_subject


@pytest.mark.parametrize(("text", "subject"), [
    ("The hackers stole the keys.", "hacker"),
    ("A spear-phishing wave hit the ministry.", "phishing"),
    ("The ransomware encrypted the hosts.", "ransomware"),
    ("Cyber-espionage against think tanks.", "cyber-espionage"),
    ("a remote access trojan", "trojan"),
    ("Two APT groups were active.", "APT"),
    ("They used command-and-control servers.", "command-and-control"),
    ("It abused CVE-2017-11882 in Office.", "cve-2017-11882"),
    ("Technique T1059.001 was seen.", "T1059.001"),
    ("The beacon called 185.220.101.4 every minute.", "185.220.101.4"),
    ("It called 185[.]220[.]101[.]4 and evil[.]com.", "185[.]220[.]101[.]4"),
    ("hxxps://update.example/run", "hxxps://update.example/run"),
    ("sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
     "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"),
])
def test_security_texts(text: str, subject: str) -> None:
    assert security_subject(text) == subject


@pytest.mark.parametrize("text", [
    "The exploits of Heracles and the Trojan War.",            # a hero's exploits, Homer's Trojans
    "The rocket carried a payload of two satellites.",
    "The surgeon fitted a cochlear implant.",
    "Napoleon's campaign in Egypt; a granite intrusion in the valley.",
    "He was hacked to pieces in the saga. The windscreen wiper broke.",
    "A cyberpunk film set in Neo-Tokyo.",
    "Version 1.2.3 of the app; call 555-0100; 2024-03-14.",
    "The IOC awarded the games; apt pupils learned fast.",
    "https://example.org/apt/report and www.example.org",
    "deadbeef cafe 0123456789",
])
def test_other_texts(text: str) -> None:
    assert security_subject(text) is None


def test_only_words_count_not_their_insides() -> None:
    assert security_subject("unhackable shackers") is None
    assert security_subject("APT37") is None                  # an id is an actor name, not a subject word
    assert security_subject("x" * 100_000 + " malware") == "malware"
