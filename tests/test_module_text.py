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
