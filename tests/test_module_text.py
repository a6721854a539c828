"""text and comment attributes: every actor a pasted report names, answered like a threat-actor attribute."""

from __future__ import annotations

from typing import Any, Callable

from conftest import FIXTURES
from misp_checks import check_misp_standard

from misp_actor_enrich.misp import module

Payload = Callable[..., dict[str, Any]]
INPUT_UUID = "9f2b7c1e-4d3a-4e8b-a6c5-2f1e0d9c8b7a"
REPORT = ("In its latest campaign the Reaper group, which FireEye calls APT37 and Kaspersky ScarCruft, "
          "reused infrastructure first seen with the Lazarus Group. Grizzly Steppe was not involved.")


def _as_text(payload: Payload, text: str, name: str = "a_ui_attribute_enrichment.json", kind: str = "text",
             config: Any = ...) -> dict[str, Any]:
    data = payload(name, value=text, config=config)
    data["attribute"]["type"] = kind
    data["attribute"]["category"] = "Other"
    return data


def test_every_actor_named_in_a_report_is_answered(payload: Payload) -> None:
    body = module.dict_handler(_as_text(payload, REPORT, config={"galaxy_types": "threat-actor"}))
    check_misp_standard(body, input_uuid=INPUT_UUID)
    results = body["results"]
    assert {t["name"] for t in results["Tag"]} == {'misp-galaxy:threat-actor="APT37"',
                                                    'misp-galaxy:threat-actor="Lazarus Group"'}
    actors = [a for a in results["Attribute"] if a["type"] == "threat-actor"]
    assert {a["value"] for a in actors} == {"APT37", "Lazarus Group"}
    assert all(a["comment"].startswith("Named in the text: ") for a in actors)
    sets = [o for o in results["Object"] if o["name"] == "intrusion-set"]
    apt37 = next(o for o in sets if o["Attribute"][0]["value"] == "APT37")
    assert "Found in the text: " in apt37["comment"] and "«Reaper»" in apt37["comment"]
    # Grizzly Steppe is ambiguous: listed for the analyst, untagged.
    steppe = [o for o in sets if "Ambiguous" in o["comment"]]
    assert {o["Attribute"][0]["value"] for o in steppe} == {"APT28", "APT29"}


def test_comments_are_scanned_too(payload: Payload) -> None:
    body = module.dict_handler(_as_text(payload, "Linked to TA505 per the vendor.", kind="comment"))
    assert 'misp-galaxy:threat-actor="TA505"' in {t["name"] for t in body["results"]["Tag"]}


def test_quiet_text_yields_nothing(payload: Payload) -> None:
    quiet = (FIXTURES / "texts" / "quiet_everyday.txt").read_text(encoding="utf-8")
    assert module.dict_handler(_as_text(payload, quiet)) == {"results": {}}


def test_hover_on_text_is_not_a_scan(payload: Payload) -> None:
    assert module.dict_handler(_as_text(payload, REPORT, name="b_hover.json")) == {"results": {}}


def test_automated_paths_keep_only_what_they_tag(payload: Payload) -> None:
    body = module.dict_handler(_as_text(payload, REPORT, name="c1_enrich_event_rest_or_workflow_unfiltered.json"))
    check_misp_standard(body, input_uuid=INPUT_UUID)
    names = {o["Attribute"][0]["value"] for o in body["results"]["Object"] if o["name"] == "intrusion-set"}
    assert names == {"APT37", "Lazarus Group"}


def test_a_long_text_is_accepted_and_an_oversized_one_refused(payload: Payload) -> None:
    long_text = (REPORT + " ") * 5000  # ~1 MB
    assert module.dict_handler(_as_text(payload, long_text))["results"]["Tag"]
    body = module.dict_handler(_as_text(payload, "x" * (module.MAX_TEXT_LENGTH + 1)))
    assert "a text is at most" in body["error"]


SIDE_BY_SIDE = ("Researchers said an Iranian group known as APT35, or Charming Kitten, posed as journalists to "
                "harvest webmail passwords. The 2016 Grizzly Steppe report is older.")


def test_names_side_by_side_are_one_actor_and_the_answer_says_why(payload: Payload) -> None:
    for name in ("a_ui_attribute_enrichment.json", "c1_enrich_event_rest_or_workflow_unfiltered.json"):
        body = module.dict_handler(_as_text(payload, SIDE_BY_SIDE, name=name))
        check_misp_standard(body, input_uuid=INPUT_UUID)
        tags = {t["name"] for t in body["results"]["Tag"]}
        assert 'misp-galaxy:threat-actor="APT35"' in tags
        assert 'misp-galaxy:threat-actor="Charming Kitten"' not in tags     # alone, that name is another cluster
        apt35 = next(o for o in body["results"]["Object"]
                     if o["name"] == "intrusion-set" and o["Attribute"][0]["value"] == "APT35")
        assert ("(named side by side in “APT35, or Charming Kitten”: APT35 is the only actor with both names)"
                in apt35["comment"])
        canonical = next(a for a in body["results"]["Attribute"] if a["type"] == "threat-actor")
        assert "named side by side" in canonical["comment"]


def test_ambiguous_mentions_are_candidates_for_the_analyst_only(payload: Payload) -> None:
    ui = module.dict_handler(_as_text(payload, SIDE_BY_SIDE))
    candidates = {o["Attribute"][0]["value"] for o in ui["results"]["Object"]
                  if o["name"] == "intrusion-set" and "Ambiguous" in o["comment"]}
    assert candidates == {"APT28", "APT29"}
    assert not any('"APT28"' in t["name"] or '"APT29"' in t["name"] for t in ui["results"]["Tag"])
    automated = module.dict_handler(
        _as_text(payload, SIDE_BY_SIDE, name="c1_enrich_event_rest_or_workflow_unfiltered.json"))
    assert not any("Ambiguous" in o["comment"] for o in automated["results"]["Object"])


def test_a_page_about_something_else_yields_nothing(payload: Payload) -> None:
    page = ("The raising of Lazarus is told only in the Gospel of John. In Frank Herbert's novel the Fremen ride a "
            "Sandworm, and the Dniester was called Turla by Turkish writers. Gallium melts in your hand.")
    for name in ("a_ui_attribute_enrichment.json", "c1_enrich_event_rest_or_workflow_unfiltered.json"):
        assert module.dict_handler(_as_text(payload, page, name=name)) == {"results": {}}
    body = module.dict_handler(_as_text(payload, page + " The Lazarus hackers used malware."))
    assert 'misp-galaxy:threat-actor="Lazarus Group"' in {t["name"] for t in body["results"]["Tag"]}
