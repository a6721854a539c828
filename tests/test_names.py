import pytest
from hypothesis import given
from hypothesis import strategies as st

from misp_actor_enrich.core.names import (
    _clean_unicode,
    _normalise_unicode,
    clean,
    normalise,
    qualifier_parts,
    strip_generic,
)


@pytest.mark.parametrize("spelling", ["APT37", "APT 37", "apt-37", "ＡＰＴ３７", "A\u200bPT 37", " apt_37. ", "Apt\u00a037"])
def test_spellings_share_one_key(spelling: str) -> None:
    assert normalise(spelling) == "apt37"


@pytest.mark.parametrize("nothing", ["", "   ", "———", "\u200b\u200d", "!?", "()"])
def test_names_without_letters_or_digits_normalise_to_nothing(nothing: str) -> None:
    assert normalise(nothing) == ""


def test_other_scripts_keep_their_letters() -> None:
    assert normalise("奇幻熊 - APT-C-20") == "奇幻熊aptc20"


def test_clean_removes_invisible_characters_and_collapses_spaces() -> None:
    assert clean("  Cozy\u200b  Bear\t") == "Cozy Bear"


@pytest.mark.parametrize(("written", "name"), [
    ("the Kimsuky group", "Kimsuky"),
    ("Lazarus Group", "Lazarus"),
    ("Sandworm Team", "Sandworm"),
    ("Carbanak Gang", "Carbanak"),
    ("threat actor Turla", "Turla"),
    ("Group 123", "Group 123"),       # nothing but digits would remain
    ("APT group", "APT group"),       # nothing would remain
    ("The Dukes", "Dukes"),
])
def test_strip_generic(written: str, name: str) -> None:
    assert strip_generic(written) == name


@pytest.mark.parametrize(("written", "parts"), [
    ("APT29 (Cozy Bear)", ("APT29", "Cozy Bear")),
    ("Cozy Bear / APT29", ("Cozy Bear", "APT29")),
    ("Turla (Russia)", ("Turla", "Russia")),
    ("the Kimsuky group", ("Kimsuky",)),
    ("Fancy Bear aka APT28", ("Fancy Bear", "APT28")),
    ("APT28, Sofacy", ("APT28", "Sofacy")),
    ("Threat Group-3390", ("Threat Group-3390",)),
])
def test_qualifier_parts(written: str, parts: tuple[str, ...]) -> None:
    assert qualifier_parts(written) == parts


@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=40))
def test_the_ascii_fast_path_is_the_unicode_path(text: str) -> None:
    # normalise() and clean() skip NFKC/NFC and the per-character category test for ASCII, which they
    # cannot change: the knowledge build calls them tens of thousands of times.
    assert normalise(text) == _normalise_unicode(text)
    assert clean(text) == _clean_unicode(text)
