"""The process-wide knowledge is built once, lazily, even when many threads ask at once."""

from __future__ import annotations

import threading
import time

import pytest

from misp_actor_enrich.core.errors import DataError
from misp_actor_enrich.core.knowledge import Knowledge
from misp_actor_enrich.data import runtime
from misp_actor_enrich.data.runtime import Runtime
from misp_actor_enrich.data.store import load_knowledge


def test_concurrent_first_use_builds_once(monkeypatch: pytest.MonkeyPatch, mini: Knowledge) -> None:
    builds: list[int] = []

    def counting(overrides: object = None) -> Knowledge:
        builds.append(1)
        time.sleep(0.05)  # widen the window in which a second builder could start
        return mini

    monkeypatch.setattr(runtime, "bundled_knowledge", counting)
    fresh = Runtime()
    barrier = threading.Barrier(8)
    seen: list[Knowledge] = []

    def first_query() -> None:
        barrier.wait()
        seen.append(fresh.current())

    threads = [threading.Thread(target=first_query) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(builds) == 1 and len({id(k) for k in seen}) == 1


def test_a_folder_without_clusters_is_a_data_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DataError, match="no clusters folder"):
        load_knowledge(tmp_path)


def test_origin_says_which_data_is_used(mini: Knowledge, bundled: Knowledge) -> None:
    assert mini.origin.label == "fixture"
    assert bundled.origin.label.startswith("misp-galaxy ") and "bundled with misp-actor-enrich" in bundled.origin.label
    versions = {g.type: g.version for g in bundled.origin.galaxies}
    assert versions["threat-actor"] > 0 and "mitre-intrusion-set" in versions
