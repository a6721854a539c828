"""The process-wide knowledge is built once, lazily, even when many threads ask at once."""

from __future__ import annotations

import threading

import pytest

from misp_actor_enrich import knowledge
from misp_actor_enrich.errors import DataError
from misp_actor_enrich.knowledge import Knowledge

from conftest import MINI_GALAXY


def test_concurrent_first_use_builds_once(monkeypatch: pytest.MonkeyPatch) -> None:
    builds: list[int] = []
    real = Knowledge.from_directory.__func__  # type: ignore[attr-defined]

    def counting(cls: type[Knowledge], *args: object, **kwargs: object) -> Knowledge:
        builds.append(1)
        return real(cls, MINI_GALAXY, label="fixture")

    previous = knowledge._current
    monkeypatch.setattr(Knowledge, "from_directory", classmethod(counting))
    knowledge.install(None)
    try:
        barrier = threading.Barrier(8)
        seen: list[Knowledge] = []

        def first_query() -> None:
            barrier.wait()
            seen.append(knowledge.current())

        threads = [threading.Thread(target=first_query) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(builds) == 1 and len({id(k) for k in seen}) == 1
    finally:
        knowledge.install(previous)


def test_a_folder_without_clusters_is_a_data_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DataError, match="no clusters folder"):
        Knowledge.from_directory(tmp_path)


def test_origin_says_which_data_is_used(mini: Knowledge, bundled: Knowledge) -> None:
    assert mini.origin.label == "fixture"
    assert bundled.origin.label.startswith("pymispgalaxies ")
    versions = {g.type: g.version for g in bundled.origin.galaxies}
    assert versions["threat-actor"] > 0 and "mitre-intrusion-set" in versions
