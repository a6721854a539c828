"""``misp-actor-enrich enrich-events`` against the real instance: dry run, run, second run.

The command runs as a subprocess, the way an admin runs it; what it did is read back from MISP.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from expectations import check_clusters, check_size, expected_tags
from live_misp import LiveMisp


def _run(misp: LiveMisp, tmp_path: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    env = {**os.environ, "MISP_KEY": misp.key, "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    env.pop("MISP_ACTOR_ENRICH_CONFIG", None)
    done = subprocess.run([sys.executable, "-m", "misp_actor_enrich", "enrich-events", "--url", misp.url,
                           "--json", "--no-progress", "--state", str(tmp_path / "state.json"), *args],
                          capture_output=True, text=True, env=env, timeout=300)
    assert misp.key not in done.stdout + done.stderr
    return done.returncode, json.loads(done.stdout), done.stderr


def test_dry_run_then_run_then_nothing_left(misp: LiveMisp, tmp_path: Path) -> None:
    inputs = [("threat-actor", "Kimsuky"), ("threat-actor", "Cozy Bear")]
    event_id, _ = misp.new_event("enrich-events", inputs)
    before = misp.event(event_id)
    initial = misp.snapshot(event_id)

    code, report, _ = _run(misp, tmp_path, "--event", event_id, "--dry-run")
    assert code == 0 and report["dry_run"] and report["changes"] > 0
    assert misp.snapshot(event_id) == initial, "a dry run wrote to MISP"

    code, report, _ = _run(misp, tmp_path / "run", "--event", event_id)
    assert code == 0 and report["writes"] > 0 and report["events_changed"] == 1
    enriched = misp.event(event_id)
    check_clusters(misp, enriched, expected_tags(misp, inputs))
    threat_actors = {c for c in LiveMisp.galaxy_clusters(enriched) if c.startswith("misp-galaxy:threat-actor=")}
    # and duplicates the galaxy itself says are the same actor (Kimsuky lists APT43): check_clusters
    # above already holds every cluster to what the module answers for these two names
    assert {'misp-galaxy:threat-actor="Kimsuky"', 'misp-galaxy:threat-actor="APT29"'} <= threat_actors
    check_size(before, enriched, "enrich-events")
    settled = misp.snapshot(event_id)

    code, report, _ = _run(misp, tmp_path / "again", "--event", event_id)
    assert code == 0 and report["writes"] == 0 and report["events_changed"] == 0
    assert misp.snapshot(event_id) == settled
