"""``misp-actor-enrich update`` from the instance's own galaxies, then every tag is one MISP attaches.

The instance's galaxies are older than the module's data (misp-live ships threat-actor v316): a tag
for a cluster the instance lacks would be stored as a plain tag, no cluster. After the update,
every galaxy tag the module can answer with must name a cluster of the instance. With our own
misp-modules server (misp-live), the update goes into that server's cache, the running server picks
it up without a restart, and an enrichEvent shows MISP attaching every tag as a cluster.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from expectations import galaxy_types
from live_misp import LiveMisp, wait_for

from misp_actor_enrich.data.cache import Cache
from misp_actor_enrich.data.store import load_knowledge

NAMES = ["Reaper", "Fancy Bear", "Wizard Spider", "Turla", "Kimsuky", "MuddyWater", "Sandworm", "FIN7"]


@pytest.mark.last
def test_update_from_the_instance_makes_every_tag_attachable(misp: LiveMisp, tmp_path: Path) -> None:
    home = misp.modules.home if misp.modules else tmp_path
    env = {**os.environ, "XDG_CONFIG_HOME": str(home / "config"), "XDG_CACHE_HOME": str(home / "cache"),
           "MISP_KEY": misp.key}
    env.pop("MISP_ACTOR_ENRICH_CONFIG", None)
    config = home / "config" / "misp-actor-enrich" / "config.yaml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f"misp:\n  url: {misp.url}\nsources:\n  misp_galaxy: false\n  misp_instance: true\n",
                      encoding="utf-8")
    # A tag the module answers today that the instance cannot attach, if there is one: it must go.
    missing_before = {name: tags for name in NAMES
                      if (tags := misp.module_tags(name) - misp.instance_clusters(galaxy_types(misp.module_tags(name))))}

    done = subprocess.run([sys.executable, "-m", "misp_actor_enrich", "update", "--json"],
                          capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["status"] == "updated" and misp.key not in done.stdout + done.stderr

    generation = Cache(home / "cache" / "misp-actor-enrich").current()
    assert generation is not None
    known = load_knowledge(generation.path)
    tags = {tag for actor in known.actors for tag in actor.tags}
    on_instance = misp.instance_clusters(galaxy_types(tags))
    assert len(tags) > 500 and tags <= on_instance, sorted(tags - on_instance)[:20]

    if misp.modules is None:
        return   # someone else's misp-modules: its cache is not ours to update
    # The running server switches to the new data without a restart (it checks at most every 5 s).
    for name, stale in missing_before.items():
        wait_for(f"the module to drop {sorted(stale)} for {name}",
                 lambda name=name, stale=stale: not (misp.module_tags(name) & stale), timeout=30)  # type: ignore[misc]
    event_id, _ = misp.new_event("after update", [("threat-actor", name) for name in NAMES])
    misp.enrich_event(event_id)
    event = misp.event(event_id)
    stored = {t["name"] for t in event.get("Tag", []) if t["name"].startswith("misp-galaxy:")}
    assert stored and stored == set(LiveMisp.galaxy_clusters(event)), sorted(stored ^ set(LiveMisp.galaxy_clusters(event)))
