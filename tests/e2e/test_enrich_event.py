"""REST ``/events/enrichEvent`` and a workflow (event-publish -> enrich-event), each run twice.

Asserted on what MISP stored: the right clusters and nothing else, at most 50 attributes added per
enriched attribute, and a second run that leaves the event exactly as the first left it. MISP sends
every attribute of a supported type on these paths, the intrusion-set's own ``text`` attributes
included, so the second run is where feeding on our own output would show.
"""

from __future__ import annotations

import json
from typing import Iterator

import pytest
from expectations import check_clusters, check_size, expected_tags
from live_misp import MODULE, LiveMisp, wait_for

REPORT = ("In its latest campaign the Reaper group, which FireEye calls APT37, reused infrastructure first "
          "seen with the Lazarus Group. Wizard Spider was not involved.")

CASES = {
    "alias": [("threat-actor", "Reaper")],
    "vendor-name": [("threat-actor", "Wizard Spider")],          # its intrusion-set names LUNAR SPIDER
    "microsoft-synonym": [("threat-actor", "Fancy Bear")],       # its aliases name Forest Blizzard
    "heavy-history": [("threat-actor", "Turla")],
    "ambiguous": [("threat-actor", "Grizzly Steppe")],
    "unknown": [("threat-actor", "Zzyzx Quorble")],
    "text-and-names": [("text", REPORT), ("threat-actor", "APT 29")],
    # Ransomware operations: their clusters, operators, leak sites, ransom notes and extensions, once.
    "ransomware": [("threat-actor", "LockBit"), ("threat-actor", "Cl0p ransomware gang")],
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_enrich_event_twice(misp: LiveMisp, case: str) -> None:
    inputs = CASES[case]
    event_id, _ = misp.new_event(f"enrichEvent {case}", inputs)
    before = misp.event(event_id)
    initial = misp.snapshot(event_id)

    misp.enrich_event(event_id)
    first = misp.event(event_id)
    expected = expected_tags(misp, inputs)
    check_clusters(misp, first, expected)
    added = check_size(before, first, f"enrichEvent {case}")
    if case in ("ambiguous", "unknown"):
        # Saved without review: a name that is not one actor changes nothing.
        assert misp.snapshot(event_id) == initial and not expected
    else:
        assert first.get("Galaxy") and added > 0
    settled = misp.snapshot(event_id)

    misp.enrich_event(event_id)
    assert misp.snapshot(event_id) == settled, "a second enrichEvent changed the event"


@pytest.fixture(scope="module")
def publish_workflow(misp: LiveMisp) -> Iterator[None]:
    """event-publish -> enrich-event(actor_enrich), without filters: every attribute, object ones too."""
    misp.http.get(misp.url + "/workflows/editor/event-publish", timeout=60)   # 500, but creates the workflow
    workflow = next(w["Workflow"] for w in misp.get("/workflows/index") if w["Workflow"]["trigger_id"] == "event-publish")
    data = workflow["data"] if isinstance(workflow["data"], dict) else json.loads(workflow["data"])
    trigger = next(k for k, node in data.items() if node["data"].get("id") == "event-publish")
    data[trigger]["outputs"]["output_1"]["connections"] = [{"node": "2", "output": "input_1"}]
    data["2"] = {
        "id": 2, "name": "Enrich Event", "class": "block-type-default expect-misp-core-format", "typenode": False,
        "data": {"id": "enrich-event", "name": "Enrich Event", "module_type": "action",
                 "indexed_params": {"modules": MODULE},
                 "saved_filters": {"selector": "", "value": "", "operator": "", "path": ""},
                 "node_uid": "e2e-enrich", "multiple_output_connection": False, "module_version": "0.2"},
        "inputs": {"input_1": {"connections": [{"node": str(trigger), "input": "output_1"}]}},
        "outputs": {"output_1": {"connections": []}}, "pos_x": 300, "pos_y": 0}
    misp.post(f"/workflows/edit/{workflow['id']}", {"Workflow": {"name": workflow["name"], "data": json.dumps(data)}})
    misp.post("/workflows/toggleModule/enrich-event/1/0")
    misp.post("/workflows/toggleModule/event-publish/1/1")
    yield
    misp.post("/workflows/toggleModule/event-publish/0/1")


def _publish_and_wait(misp: LiveMisp, event_id: str) -> None:
    """Publish and wait for MISP's publish log entry: the blocking workflow runs before it is written."""
    seen = misp.audit_ids("Event", "publish", event_id)
    misp.post(f"/events/publish/{event_id}")
    wait_for(f"event {event_id} to be published",
             lambda: len(misp.audit_ids("Event", "publish", event_id)) > len(seen), timeout=90)


def test_workflow_on_publish_twice(misp: LiveMisp, publish_workflow: None) -> None:
    inputs = [("threat-actor", "Fancy Bear"), ("text", REPORT)]
    event_id, _ = misp.new_event("workflow", inputs)
    before = misp.event(event_id)

    _publish_and_wait(misp, event_id)
    first = misp.event(event_id)
    check_clusters(misp, first, expected_tags(misp, inputs))
    assert first.get("Galaxy")
    check_size(before, first, "workflow")
    settled = misp.snapshot(event_id)

    _publish_and_wait(misp, event_id)
    assert misp.snapshot(event_id) == settled, "a second workflow run changed the event"
