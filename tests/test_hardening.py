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
    """``call()`` (its result, or the exception it raised), asserting it took under ``seconds`` and allocated
    under ``megabytes`` (measured in a second run under tracemalloc, which slows a run several-fold)."""
    def once() -> tuple[Any, BaseException | None]:
        try:
            return call(), None
        except Exception as exc:      # the caller expects some calls to raise: measured all the same
            return None, exc

    started = time.perf_counter()
    result, error = once()
    elapsed = time.perf_counter() - started
    assert elapsed < seconds, f"took {elapsed:.2f} s"
    tracemalloc.start()
    try:
        once()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < megabytes * 2**20, f"allocated {peak / 2**20:.0f} MiB"
    if error is not None:
        raise error
    return result


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


# --- the data path: validate before commit, one updater at a time -----------------------------------

UPDATE_FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "update"


def _source(tmp_path: Path, damage: Callable[[dict[str, Any]], Any] | None = None, raw: str | None = None) -> Path:
    """A misp-galaxy folder copied from the update fixtures, its threat-actor file damaged."""
    import shutil

    folder = tmp_path / "source"
    shutil.copytree(UPDATE_FIXTURES / "misp-galaxy", folder)
    path = folder / "clusters" / "threat-actor.json"
    if raw is not None:
        path.write_text(raw, encoding="utf-8")
    elif damage is not None:
        import json

        document = json.loads(path.read_text(encoding="utf-8"))
        document["version"] += 1
        damage(document)
        path.write_text(json.dumps(document), encoding="utf-8")
    return folder


def _seeded(tmp_path: Path) -> tuple[Any, Any]:
    from test_refresh import MINI, site

    from misp_actor_enrich.data.cache import Cache
    from misp_actor_enrich.data.refresh import update

    config = site(tmp_path / "cache", misp_galaxy=str(MINI))
    assert update(config, fallback=MINI).status == "updated"
    return config, Cache(tmp_path / "cache")


def _fails_and_keeps(tmp_path: Path, source: Path, says: str) -> Any:
    from dataclasses import replace

    from test_refresh import MINI

    from misp_actor_enrich.data.refresh import update

    config, cache = _seeded(tmp_path)
    before = cache.current()
    report = _bounded(lambda: update(replace(config, sources=replace(config.sources, misp_galaxy=str(source))),
                                     fallback=MINI), seconds=5)
    assert report.status == "failed" and any(says in str(p) for p in report.problems), report.problems
    assert cache.current() == before and cache.unreadable() is None
    return report


@pytest.mark.parametrize(("damage", "says"), [
    (lambda d: d["values"].insert(0, {"uuid": d["values"][0]["uuid"], "value": "Not It"}), "is used twice"),
    (lambda d: d["values"][0].update(description="x" * 50_000_000), "-character description; at most 20000"),
    (lambda d: d["values"].extend({"uuid": f"{i:08d}-1111-4111-8111-111111111111", "value": f"X{i}"}
                                  for i in range(100_000)), "100009 clusters; at most 20000"),
    (lambda d: d["values"][0]["meta"].update(synonyms=[f"S{i}" for i in range(1_000_000)]), "names; at most 500"),
])
def test_data_that_should_be_refused_is(tmp_path: Path, damage: Callable[[dict[str, Any]], Any], says: str) -> None:
    """A 50 MB description made every APT37 answer 50 MB; 100,000 clusters or a million synonyms made the
    rebuild take 12-18 s and 1.2-1.6 GB; a uuid twice silently dropped APT37's threat-actor cluster."""
    _fails_and_keeps(tmp_path, _source(tmp_path, damage), says)


def test_json_nested_100000_deep_is_refused_without_a_traceback(tmp_path: Path) -> None:
    _fails_and_keeps(tmp_path, _source(tmp_path, raw="[" * 100_000 + "]" * 100_000), "nested too deep")


def test_a_fifo_in_a_source_folder_does_not_hang_the_update(tmp_path: Path) -> None:
    source = _source(tmp_path)
    target = source / "clusters" / "threat-actor.json"
    target.unlink()
    os.mkfifo(target)
    _fails_and_keeps(tmp_path, source, "not a regular file")


def test_broken_entries_are_reported(tmp_path: Path) -> None:
    from dataclasses import replace

    from test_refresh import MINI

    from misp_actor_enrich.data.refresh import update

    config, _ = _seeded(tmp_path)
    source = _source(tmp_path, lambda d: d["values"].extend([{"value": "no uuid"}, 42]))
    report = update(replace(config, sources=replace(config.sources, misp_galaxy=str(source))), fallback=MINI)
    assert report.status == "updated"
    assert any("threat-actor.json: 2 broken entries skipped" in note for note in report.notes), report.notes


def test_the_whole_update_has_a_deadline(tmp_path: Path) -> None:
    """A slow-dripping server held one update for about 45 minutes: every file had its own deadline only."""
    from http_standin import HttpStandIn
    from test_refresh import MINI, UPDATE, site

    from misp_actor_enrich.data.fetch import Limits
    from misp_actor_enrich.data.refresh import update

    with HttpStandIn(UPDATE) as server:
        for name in ("threat-actor", "mitre-intrusion-set", "target-information", "sector"):
            server.set(f"/misp-galaxy/clusters/{name}.json", "drip", interval=0.05)
        config = site(tmp_path / "cache", misp_galaxy=server.url + "/misp-galaxy")
        started = time.monotonic()
        report = update(config, fallback=MINI, limits=Limits(timeout=0.5, retries=0, deadline=0.6,
                                                             until=time.monotonic() + 1.0))
    assert time.monotonic() - started < 3
    assert report.status == "failed"
    assert any("overall deadline (sources.deadline) has passed" in str(p) for p in report.problems), report.problems


def test_parallel_updates_run_one_after_the_other(tmp_path: Path) -> None:
    """In 4 of 25 rounds of 8 parallel updates, `current` named a deleted generation; runs reported
    "failed, unchanged" after switching the pointer; concurrent updates lost each other's data."""
    import threading
    from dataclasses import replace

    from test_refresh import MINI

    from misp_actor_enrich.data.refresh import update

    config, cache = _seeded(tmp_path)
    sources = [_source(tmp_path / str(i), lambda d, i=i: d["values"][0]["meta"].update(  # type: ignore[misc]
        synonyms=[f"Parallel Name {i}"])) for i in range(8)]
    reports: list[Any] = []

    def one(source: Path) -> None:
        reports.append(update(replace(config, sources=replace(config.sources, misp_galaxy=str(source))),
                              fallback=MINI))

    threads = [threading.Thread(target=one, args=(s,)) for s in sources]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    current = cache.current()
    assert current is not None and cache.unreadable() is None
    assert [r.status for r in reports] == ["updated"] * 8     # each built on the last: none lost, none failed
    assert current.id in {r.generation for r in reports}           # the pointer names what a run made
    generations = [p for p in (cache.root / "generations").iterdir() if not p.name.startswith(".")]
    assert all((g / "manifest.json").is_file() for g in generations)  # nothing half-pruned


def test_the_cache_is_readable_by_other_users(tmp_path: Path) -> None:
    """An update run as root left 0600/0700 files the web server's user could not read."""
    import stat

    old = os.umask(0o077)
    try:
        _, cache = _seeded(tmp_path)
    finally:
        os.umask(old)
    current = cache.current()
    assert current is not None
    for path in [cache.pointer, current.path, *current.path.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o755 if path.is_dir() else 0o644), (path, oct(mode))


def test_status_says_when_the_cache_cannot_be_used(tmp_path: Path) -> None:
    from misp_actor_enrich.data.refresh import status

    config, cache = _seeded(tmp_path)
    cache.pointer.write_text("20990101T000000Z-gone\n", encoding="utf-8")
    report = status(config)
    assert any("the module cannot use the cache" in w and "missing or incomplete" in w for w in report.warnings)


# --- secrets ------------------------------------------------------------------------------------------

KEY = "Zx9VqT3mKp7LwR2sYb6NcD4hJf8GtA1eUo5Ii0Qy"


@pytest.mark.parametrize("form", [KEY, KEY.lower(), KEY.upper(), "Wng5VnFUM21LcDdMd1Iyc1liNk5jRDRoSmY4R3RBMWVVbzVJaTBReQ==",
                                  "Wng5VnFUM21LcDdMd1Iyc1liNk5jRDRoSmY4R3RBMWVVbzVJaTBReQ"])
def test_the_key_is_masked_in_any_form_misp_may_echo(form: str) -> None:
    """A MISP that echoed the key in base64 or lower case put it in the output, report and state files."""
    from misp_actor_enrich.data.secrets import Redactor

    assert Redactor([KEY])(f"403: authentication failed for {form}.") == "403: authentication failed for ***."


@pytest.mark.parametrize(("url", "safe"), [
    ("https://admin:hunter2@misp.example.org/events", "https://***@misp.example.org/events"),
    ("https://misp.example.org/clusters/x.json?token=abc123&v=2", "https://misp.example.org/clusters/x.json?token=***&v=2"),
    ("http://mirror.local/galaxy?api_key=s3cr3t", "http://mirror.local/galaxy?api_key=***"),
])
def test_credentials_in_urls_never_reach_output(url: str, safe: str) -> None:
    from misp_actor_enrich.data.secrets import safe_url

    assert safe_url(url) == safe and safe_url(f"could not reach {url}: refused") == f"could not reach {safe}: refused"


def test_enrich_events_keeps_no_credentials_anywhere(tmp_path: Path) -> None:
    """The key echoed by MISP in base64 and lower case, and a URL's user:password, reach neither the output,
    nor the report, nor the state file."""
    import base64
    import subprocess
    import sys

    from misp_standin import StandIn

    def run(url: str, key: str, folder: Path) -> str:
        env = {**os.environ, "MISP_KEY": key, "XDG_CONFIG_HOME": str(folder / "c")}
        done = subprocess.run([sys.executable, "-m", "misp_actor_enrich", "enrich-events", "--url", url, "--all",
                               "--json", "--no-progress", "--state", str(folder / "state.json"),
                               "--report", str(folder / "report.json")], capture_output=True, text=True, env=env,
                              timeout=120)
        return done.stdout + done.stderr + "".join(p.read_text() for p in folder.glob("*.json"))

    with StandIn() as misp:
        misp.echo_key_in_errors = True
        misp.add_event("e", [{"type": "threat-actor", "value": "Reaper", "category": "Attribution"}])
        misp.fail_on(lambda call: call.is_write, times=50)        # every write fails, quoting the key
        written = run(misp.url, misp.key, tmp_path / "echo")
    assert "An Internal Error Has Occurred. (request by ***, ***)" in written     # the error itself is kept
    for secret in (misp.key, misp.key.lower(), base64.b64encode(misp.key.encode()).decode()):
        assert secret not in written, secret
    written = run("http://admin:hunter2@127.0.0.1:9", KEY, tmp_path / "userinfo")
    assert "127.0.0.1:9" in written and "hunter2" not in written and KEY not in written


# --- echo and amplification ---------------------------------------------------------------------------


@pytest.mark.parametrize("config", [{"x" * 1_000_000: "1"}, {"galaxy_types": "threat-actor," + "y" * 1_000_000},
                                    {"max_links": "9" * 1_000_000}])
def test_a_huge_config_value_is_not_echoed(payload: Payload, config: dict[str, str]) -> None:
    """A 1 MB config key or value came back whole inside the error."""
    body = module.dict_handler(payload(config=config))
    assert "error" in body and len(body["error"]) <= 300 and "\n" not in body["error"]


@pytest.mark.parametrize(("detail", "ceiling"), [(None, 300_000), ("full", 2_000_000)])
def test_a_comment_naming_every_actor_is_not_amplified(payload: Payload, bundled: Knowledge,
                                                       detail: str | None, ceiling: int) -> None:
    """A 24 KB comment naming every actor returned 6.7 MB."""
    import json

    text = ", ".join(actor.name for actor in bundled.actors)
    request = payload(value=text, config={"detail": detail})
    request["attribute"]["type"] = "comment"
    body = _bounded(lambda: module.dict_handler(request), seconds=2)
    size = len(json.dumps(body))
    assert size < ceiling and len(body["results"]["Tag"]) > 1000, size


# --- text: linear, bounded, and said when bounded --------------------------------------------------------


@pytest.mark.parametrize("text", [
    "APT37 attacked banks. " * 45_000,                                                  # one name, 1 MB
    "APT35, also known as Charming Kitten or Phosphorus (Mint Sandstorm), " * 14_000,   # names side by side
    "the Reaper group and Silence hackers met Cobalt. " * 20_000,                       # names needing evidence
])
def test_a_text_of_nothing_but_actor_names_is_bounded(payload: Payload, text: str) -> None:
    """A 2 MB text of one repeated actor name took 7 s; 1 MB of actor-dense text 1.1-2.3 s."""
    request = payload("c1_enrich_event_rest_or_workflow_unfiltered.json", value=text[:1_000_000])
    request["attribute"]["type"] = "text"
    body = _bounded(lambda: module.dict_handler(request))
    comment = body["results"]["Object"][0]["comment"]
    assert "The text was read up to character " in comment and "more than 10,000 times" in comment


def test_a_text_longer_than_a_megabyte_is_refused_by_name(payload: Payload) -> None:
    request = payload(value="APT37 " * 200_000)
    request["attribute"]["type"] = "text"
    assert module.dict_handler(request) == {
        "error": "attribute.value: is 1200000 characters long; a text is at most 1000000"}
