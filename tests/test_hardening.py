"""Regression tests for the hostile-client and careless-admin probe: every reproducer it reported.

Each test is one finding of the probe (issue "Hardening"): a request whose cost exploded, valid input
that crashed, a site file that took everything down, data that should be refused, a race, a leak.
The bounds asserted are blow-up guards (seconds where the probe measured tens of seconds), not
speed claims.
"""

from __future__ import annotations

import copy
import os
import time
import tracemalloc
from pathlib import Path
from typing import Any, Callable

import pytest
from conftest import load_payload

from misp_actor_enrich.core.errors import ConfigError
from misp_actor_enrich.core.knowledge import Knowledge
from misp_actor_enrich.data import runtime, site_config
from misp_actor_enrich.data.runtime import Runtime
from misp_actor_enrich.misp import module

Payload = Callable[..., dict[str, Any]]


def _bounded(call: Callable[[], Any], seconds: float = 1.0, megabytes: int = 200) -> Any:
    tracemalloc.start()
    started = time.perf_counter()
    try:
        return call()
    finally:
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert elapsed < seconds and peak < megabytes * 2**20, (elapsed, peak)


# --- one small request, seconds and gigabytes ------------------------------------------------------


@pytest.fixture(autouse=True)
def _built(bundled: Knowledge) -> None:
    """The data and the suggestion index are built once per process, outside any request's bound."""
    bundled.resolve("ScarKruft")
    bundled.scanner.scan("APT37")


def test_nfkc_expanding_characters_cost_nothing(payload: Payload) -> None:
    """96 x U+FDFA (414 bytes; 1,728 characters after NFKC) took 11.5 s and 3.4 GB in the suggestions."""
    for count in (96, 512):
        body = _bounded(lambda count=count: module.dict_handler(payload(value="\ufdfa" * count)))  # type: ignore[misc]
        assert body == {"results": {}}


def test_forty_thousand_tags_cost_nothing(payload: Payload) -> None:
    """40,000 tags on the attribute took 13 s: the de-duplication was quadratic."""
    request = copy.deepcopy(load_payload("d_workflow_attach_enrichment.json"))
    request["attribute"]["Tag"] = [{"name": f"site:tag-{i}"} for i in range(40_000)]
    request["attribute"]["_allTags"] = [{"name": f"site:other-{i}"} for i in range(40_000)]
    body = _bounded(lambda: module.dict_handler(request))
    assert body["results"]["Tag"]


# --- valid input that crashed ----------------------------------------------------------------------


@pytest.mark.parametrize("text", ["\nAPT37 attacked banks", " APT37", "\t\tKimsuky and APT37"])
def test_a_name_after_only_whitespace(payload: Payload, text: str) -> None:
    request = payload("c1_enrich_event_rest_or_workflow_unfiltered.json", value=text)
    request["attribute"]["type"] = "text"
    assert 'misp-galaxy:threat-actor="APT37"' in {t["name"] for t in module.dict_handler(request)["results"]["Tag"]}


def _site(tmp_path: Path) -> tuple[dict[str, str], Path]:
    env = {"XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_CACHE_HOME": str(tmp_path / "cache"), "HOME": str(tmp_path)}
    folder = tmp_path / "config" / "misp-actor-enrich"
    folder.mkdir(parents=True)
    return env, folder


def test_an_unknown_yaml_tag_keeps_the_last_good_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          payload: Payload) -> None:
    """``!custom`` in overrides.yaml made every /query fail and resolve/status print tracebacks."""
    env, folder = _site(tmp_path)
    overrides = folder / "overrides.yaml"
    overrides.write_text("aliases:\n  APT37: [Our Reaper]\n", encoding="utf-8")
    rt = Runtime(environ=env, interval=0)
    monkeypatch.setattr(runtime, "RUNTIME", rt)
    assert rt.current().resolve("Our Reaper").actor is not None
    overrides.write_text("aliases:\n  APT37: !custom [Our Reaper]\n", encoding="utf-8")
    assert rt.current().resolve("Our Reaper").actor is not None                 # the last good file
    assert any("overrides.yaml:2: not a plain YAML value" in e and "!custom" in e for e in rt.errors)
    body = module.dict_handler(payload(value="Our Reaper"))
    assert "site files need fixing" in body["results"]["Object"][0]["comment"]


def test_a_yaml_alias_bomb_is_refused_at_once(tmp_path: Path) -> None:
    """An alias bomb in config.yaml took 20 s and 3.8 GB."""
    lines = ["sources:", "  galaxies: &a [x, x, x, x, x, x, x, x, x]"]
    lines += [f"  x{i}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]" for i in range(8)]
    path = tmp_path / "config.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="anchors and aliases"):
        _bounded(lambda: site_config.load(path), seconds=0.5)


@pytest.mark.parametrize(("content", "says"), [
    ("a:\n" + "".join("  " * i + "- \n" for i in range(1, 60)), "nested deeper than"),
    ("misp: {url: x}\n" + "# padding\n" * 120_000, "a site file is at most"),
    (b"misp:\n  url: \xff\xfe\n", "not UTF-8"),
])
def test_unreasonable_site_files_are_refused(tmp_path: Path, content: str | bytes, says: str) -> None:
    path = tmp_path / "config.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=says):
        _bounded(lambda: site_config.load(path), seconds=0.5)


def test_a_fifo_as_a_site_file_does_not_hang(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    os.mkfifo(path)
    with pytest.raises(ConfigError, match="not a regular file"):
        _bounded(lambda: site_config.load(path), seconds=0.5)
