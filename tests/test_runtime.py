"""The running process picks up new data and edited overrides, swapping the index atomically."""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import MINI_GALAXY

from misp_actor_enrich.core.errors import ConfigError
from misp_actor_enrich.core.models import Status
from misp_actor_enrich.data import runtime
from misp_actor_enrich.data.cache import Cache
from misp_actor_enrich.data.runtime import Runtime
from misp_actor_enrich.data.store import bundled_label
from misp_actor_enrich.misp import module

NEW_NAME = "Brand New Vendor Name"


def _generation(cache: Cache, *, extra_synonym: str | None = None) -> str:
    staging = cache.stage()
    shutil.copytree(MINI_GALAXY, staging, dirs_exist_ok=True)
    if extra_synonym:
        path = staging / "clusters" / "threat-actor.json"
        document = json.loads(path.read_text(encoding="utf-8"))
        apt37 = next(v for v in document["values"] if isinstance(v, dict) and v.get("value") == "APT37")
        apt37["meta"]["synonyms"].append(extra_synonym)
        document["version"] += 1
        path.write_text(json.dumps(document), encoding="utf-8")
    return cache.commit(staging, {"created": 0, "sources": ["test"]}).id


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_CACHE_HOME": str(tmp_path / "cache"),
            "HOME": str(tmp_path)}


def _cache(env: dict[str, str]) -> Cache:
    return Cache(Path(env["XDG_CACHE_HOME"]) / "misp-actor-enrich")


def test_without_a_cache_the_bundled_data_is_used(env: dict[str, str]) -> None:
    rt = Runtime(environ=env, interval=0)
    assert rt.current().origin.label == bundled_label()
    assert rt.problems == ()


def test_the_current_generation_wins_and_new_ones_are_picked_up(env: dict[str, str]) -> None:
    cache = _cache(env)
    first = _generation(cache)
    rt = Runtime(environ=env, interval=0)
    assert first in rt.current().origin.label
    assert rt.current().resolve(NEW_NAME).status is Status.UNKNOWN
    second = _generation(cache, extra_synonym=NEW_NAME)
    knowledge = rt.current()
    assert second in knowledge.origin.label
    assert knowledge.resolve(NEW_NAME).candidates[0].actor.name == "APT37"


def test_checks_are_throttled(env: dict[str, str]) -> None:
    cache = _cache(env)
    _generation(cache)
    ticks = [0.0]
    rt = Runtime(environ=env, interval=5.0, clock=lambda: ticks[0])
    before = rt.current()
    _generation(cache, extra_synonym=NEW_NAME)
    ticks[0] = 1.0
    assert rt.current() is before          # not checked yet
    ticks[0] = 6.0
    assert rt.current() is not before      # checked, rebuilt


def test_a_broken_generation_falls_back_to_the_bundled_data(env: dict[str, str]) -> None:
    cache = _cache(env)
    gen = _generation(cache)
    shutil.rmtree(cache.root / "generations" / gen / "clusters")
    (cache.root / "generations" / gen / "clusters").mkdir()
    (cache.root / "generations" / gen / "clusters" / "threat-actor.json").write_text("{broken", encoding="utf-8")
    rt = Runtime(environ=env, interval=0)
    assert rt.current().origin.label == bundled_label()
    assert any("could not be loaded" in p for p in rt.problems)


def test_edited_overrides_apply_and_a_broken_file_keeps_the_last_good_ones(env: dict[str, str]) -> None:
    _generation(_cache(env))
    overrides = Path(env["XDG_CONFIG_HOME"]) / "misp-actor-enrich" / "overrides.yaml"
    overrides.parent.mkdir(parents=True)
    rt = Runtime(environ=env, interval=0)
    assert rt.current().resolve("Guardians of Peace").status is Status.AMBIGUOUS
    overrides.write_text("pins:\n  Guardians of Peace: Silent Chollima\n", encoding="utf-8")
    assert rt.checked().resolve("Guardians of Peace").candidates[0].actor.name == "Silent Chollima"
    overrides.write_text("pins:\n  Guardians of Peace: [oops\n", encoding="utf-8")
    # the last good overrides stay in force; the error is there for every answer and for status
    pinned = rt.current().resolve("Guardians of Peace")
    assert any("overrides.yaml" in e and "not valid YAML" in e for e in rt.errors)
    assert pinned.status is Status.RESOLVED and pinned.candidates[0].actor.name == "Silent Chollima"
    with pytest.raises(ConfigError, match=r"overrides\.yaml:\d+: not valid YAML"):
        rt.checked()
    overrides.write_text("pins:\n  Guardians of Peace: Silent Chollima\n", encoding="utf-8")
    assert rt.checked().resolve("Guardians of Peace").candidates[0].actor.name == "Silent Chollima"
    overrides.unlink()
    assert rt.checked().resolve("Guardians of Peace").status is Status.AMBIGUOUS


@pytest.mark.parametrize(("config", "overrides", "says"), [
    ("module:\n  galaxy_types: [threat-actr]\n", None,
     "config.yaml: module.galaxy_types: unknown galaxy type 'threat-actr' (did you mean 'threat-actor'?)"),
    ("module:\n  galaxy_typs: [threat-actor]\n", None, "config.yaml:2: module.galaxy_typs: unknown setting"),
    ("overrides: elsewhere.yaml\n", None, "overrides: "),
    (None, "targeting:\n  APT37: {sectors: [Helth]}\n",
     "overrides.yaml: targeting.APT37.sectors: unknown sector 'Helth'; did you mean 'Health'?"),
    (None, "actors:\n  - name: SITE-1\n    targeting: {countries: [Japn]}\n",
     "overrides.yaml: actors[0].targeting.countries: unknown country or region 'Japn'; did you mean 'Japan'?"),
])
def test_a_wrong_site_file_is_said_in_every_answer(env: dict[str, str], monkeypatch: pytest.MonkeyPatch,
                                                        payload: Any, config: str | None, overrides: str | None,
                                                        says: str) -> None:
    _generation(_cache(env))                   # the mini galaxy: its vocabulary has Health and Japan
    folder = Path(env["XDG_CONFIG_HOME"]) / "misp-actor-enrich"
    folder.mkdir(parents=True)
    for name, text in (("config.yaml", config), ("overrides.yaml", overrides)):
        if text is not None:
            (folder / name).write_text(text, encoding="utf-8")
    rt = Runtime(environ=env, interval=0)
    monkeypatch.setattr(runtime, "RUNTIME", rt)
    results = module.dict_handler(payload(value="Reaper"))["results"]      # enrichment goes on
    assert 'misp-galaxy:threat-actor="APT37"' in {t["name"] for t in results["Tag"]}
    comment = results["Object"][0]["comment"]
    assert "site files need fixing, the last good ones are in force: " in comment
    assert says in comment.replace(str(folder) + "/", "")
    assert module.dict_handler(payload(value="Not An Actor")) == {"results": {}}
    (folder / "config.yaml").unlink(missing_ok=True)
    (folder / "overrides.yaml").unlink(missing_ok=True)
    assert "site files" not in module.dict_handler(payload())["results"]["Object"][0]["comment"]


def test_a_config_path_in_the_environment_must_exist(env: dict[str, str]) -> None:
    rt = Runtime(environ={**env, runtime.CONFIG_ENV: "/nonexistent/config.yaml"}, interval=0)
    with pytest.raises(ConfigError, match="MISP_ACTOR_ENRICH_CONFIG=/nonexistent/config.yaml: no such file"):
        rt.checked()


def test_answers_switch_once_while_many_threads_query(env: dict[str, str], monkeypatch: pytest.MonkeyPatch,
                                                      payload: Any) -> None:
    cache = _cache(env)
    _generation(cache)
    rt = Runtime(environ=env, interval=0)
    rt.current()
    monkeypatch.setattr(runtime, "RUNTIME", rt)
    request = payload(value=NEW_NAME)
    stop = threading.Event()
    # Each worker keeps its answers run-length encoded: [old, new] means it switched exactly once.
    seen: dict[int, list[bool]] = {}
    counts: dict[int, int] = {}
    errors: list[Any] = []

    def query(worker: int) -> None:
        answers = seen.setdefault(worker, [])
        counts[worker] = 0
        while not stop.is_set() or counts[worker] < 5:
            body = module.dict_handler(request)
            if "error" in body:
                errors.append(body)
            answer = bool(body["results"])
            if not answers or answers[-1] != answer:
                answers.append(answer)
            counts[worker] += 1
            # Pause like a real server between requests: eight threads spinning on the GIL
            # would starve the main thread's file writes (convoy effect) for tens of seconds.
            time.sleep(0.0005)

    threads = [threading.Thread(target=query, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    while sum(counts.values()) < 40:
        threading.Event().wait(0.01)
    _generation(cache, extra_synonym=NEW_NAME)
    deadline = time.monotonic() + 30
    while not all(a and a[-1] for a in seen.values()) and time.monotonic() < deadline:
        threading.Event().wait(0.01)
    stop.set()
    for t in threads:
        t.join()
    assert errors == []
    for answers in seen.values():
        switch = answers.index(True)
        assert not any(answers[:switch]) and all(answers[switch:])   # old ... old, new ... new
    assert all(not a[0] for a in seen.values())
