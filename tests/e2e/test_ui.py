"""MISP's UI in headless Chromium: the enrichment asterisk (results page, Submit) and hover.

After Submit, MISP queues the import as a background job ("Module results ingestion queued"): the
test polls the event until everything the results page offered is stored, then checks what MISP
stored. Screenshots of each results page and each event are kept in the e2e artifacts folder.
"""

from __future__ import annotations

from typing import Any

from expectations import check_clusters, check_size
from live_misp import LiveMisp, wait_for
from misp_browser import Browser

REPORT = ("The Reaper group, which FireEye calls APT37, reused infrastructure first seen with the "
          "Lazarus Group against banks in South Korea.")


def _offered(answer: dict[str, Any]) -> int:
    results = answer.get("results") or {}
    return len(results.get("Attribute", [])) + sum(len(o["Attribute"]) for o in results.get("Object", []))


def _enrich_in_browser(misp: LiveMisp, browser: Browser, name: str, kind: str, value: str) -> dict[str, Any]:
    """Open the results page, screenshot it, Submit, wait until MISP stored all of it; the event."""
    event_id, attributes = misp.new_event(f"ui {name}", [(kind, value)])
    before = misp.event(event_id)
    page = browser.open_enrichment(attributes[0]["id"])
    browser.screenshot(f"ui_{name}_results")
    offered = _offered(misp.module_answer(value, kind))
    assert offered and "Enrichment Results" in page
    browser.submit(event_id)
    expected_total = LiveMisp.attribute_count(before) + offered

    def stored() -> dict[str, Any] | None:
        event = misp.event(event_id)
        return event if LiveMisp.attribute_count(event) >= expected_total else None

    event = wait_for(f"MISP to store the {offered} attributes offered for {value[:30]!r}", stored)
    browser.page_text(f"/events/view/{event_id}")
    browser.screenshot(f"ui_{name}_event")
    assert LiveMisp.attribute_count(event) == expected_total
    check_size(before, event, f"ui {name}")
    return event


def test_ui_threat_actor(misp: LiveMisp, browser: Browser) -> None:
    event = _enrich_in_browser(misp, browser, "threat_actor", "threat-actor", "Reaper")
    check_clusters(misp, event, misp.module_tags("Reaper"))
    assert 'misp-galaxy:threat-actor="APT37"' in LiveMisp.galaxy_clusters(event)
    canonical = [a for a in event["Attribute"] if a["type"] == "threat-actor" and a["value"] == "APT37"]
    assert canonical and {t["name"] for t in canonical[0]["Tag"]} >= {'misp-galaxy:threat-actor="APT37"'}
    reaper = next(a for a in event["Attribute"] if a["value"] == "Reaper")
    intrusion_set = next(o for o in event["Object"] if o["name"] == "intrusion-set")
    assert reaper["uuid"] in {r["referenced_uuid"] for r in intrusion_set["ObjectReference"]}


def test_ui_text(misp: LiveMisp, browser: Browser) -> None:
    event = _enrich_in_browser(misp, browser, "text", "text", REPORT)
    check_clusters(misp, event, misp.module_tags(REPORT, "text"))
    threat_actors = set(c for c in LiveMisp.galaxy_clusters(event) if c.startswith("misp-galaxy:threat-actor="))
    assert threat_actors == {'misp-galaxy:threat-actor="APT37"', 'misp-galaxy:threat-actor="Lazarus Group"'}


def test_ui_ambiguous_name(misp: LiveMisp, browser: Browser) -> None:
    event = _enrich_in_browser(misp, browser, "ambiguous", "threat-actor", "Grizzly Steppe")
    assert not LiveMisp.galaxy_clusters(event) and not event.get("Tag")      # the analyst must pick
    names = {a["value"] for o in event["Object"] for a in o["Attribute"] if a["object_relation"] == "name"}
    assert names == {"APT28", "APT29"}
    assert all("Ambiguous" in o["comment"] and "Not tagged" in o["comment"] for o in event["Object"])


def test_ui_unknown_name(misp: LiveMisp, browser: Browser) -> None:
    event_id, attributes = misp.new_event("ui unknown", [("threat-actor", "Zzyzx Quorble")])
    before = misp.snapshot(event_id)
    browser.open_enrichment(attributes[0]["id"])
    browser.screenshot("ui_unknown_results")
    assert not browser.has_submit()
    assert misp.snapshot(event_id) == before


def test_hover(misp: LiveMisp, browser: Browser) -> None:
    event_id, attributes = misp.new_event("hover", [("threat-actor", "Ricochet Chollima")])
    before = misp.snapshot(event_id)
    text = browser.page_text(f"/attributes/hoverEnrichment/{attributes[0]['id']}")
    browser.screenshot("hover", full_page=False)
    assert "APT37" in text and "intrusion-set" in text
    assert "No result" not in text           # no top-level Tag on hover: MISP would list it as "No result"
    assert misp.snapshot(event_id) == before
