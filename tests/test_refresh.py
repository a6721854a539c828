"""``update`` and ``status`` end to end: a real loopback HTTP server (tests/http_standin.py) serves
fixture galaxies (fixtures/update/) and misbehaves per test; each failure must leave the data in
use exactly as it was and still answering.
"""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterator

import pytest
from http_standin import HttpStandIn
from misp_standin import KEY, StandIn

from misp_actor_enrich.cli import main as cli
from misp_actor_enrich.core.knowledge import Knowledge
from misp_actor_enrich.core.models import Status
from misp_actor_enrich.data.cache import Cache, write_json_atomic
from misp_actor_enrich.data.fetch import Limits
from misp_actor_enrich.data.refresh import diff_documents, status, summary_lines, update
from misp_actor_enrich.data.site_config import (
    CacheSection,
    MispSection,
    SiteConfig,
    SourcesSection,
)
from misp_actor_enrich.data.store import load_knowledge

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
MINI = FIXTURES / "galaxy"
UPDATE = FIXTURES / "update"
NAMES = ("threat-actor", "mitre-intrusion-set", "target-information", "sector")
FAST = Limits(timeout=0.3, max_bytes=100_000, retries=1, backoff=0.01, deadline=1.0)
TA = "/misp-galaxy/clusters/threat-actor.json"


def site(cache: Path, **sources: Any) -> SiteConfig:
    return SiteConfig(cache=CacheSection(dir=cache),
                      sources=SourcesSection(**{"misp_galaxy": None, "galaxies": NAMES, **sources}))


def run(config: SiteConfig, **kwargs: Any) -> Any:
    return update(config, limits=kwargs.pop("limits", FAST), fallback=MINI, **kwargs)


def snapshot(config: SiteConfig) -> tuple[str, dict[str, bytes]]:
    current = Cache(config.cache.dir or Path("/nonexistent")).current()
    assert current is not None
    return current.id, {str(p.relative_to(current.path)): p.read_bytes() for p in current.path.rglob("*.json")}


def knowledge(config: SiteConfig) -> Knowledge:
    current = Cache(config.cache.dir or Path("/nonexistent")).current()
    assert current is not None
    return load_knowledge(current.path)


@pytest.fixture
def server() -> Iterator[HttpStandIn]:
    with HttpStandIn(UPDATE) as standin:
        yield standin


@pytest.fixture
def seeded(tmp_path: Path) -> SiteConfig:
    """A cache whose current generation was made from the mini galaxy folder (a plain-folder source)."""
    config = site(tmp_path / "cache", misp_galaxy=str(MINI))
    report = run(config)
    assert report.status == "updated" and report.previous is None and report.changes == ()
    return config


def test_normal_update_then_304s_make_no_new_generation(seeded: SiteConfig, server: HttpStandIn) -> None:
    config = replace(seeded, sources=replace(seeded.sources, misp_galaxy=server.url + "/misp-galaxy"))
    before, _ = snapshot(seeded)
    report = run(config)
    assert report.status == "updated" and report.previous == before and report.generation != before
    lines = summary_lines(report.changes)
    assert "threat-actor: 1 new: Kimsuky" in lines
    assert "threat-actor: 1 renamed: Weird Actor -> Odd Actor" in lines
    assert "threat-actor: new aliases for 1: APT37 (+Ricochet Chollima)" in lines
    known = knowledge(config)
    assert known.resolve("Ricochet Chollima").candidates[0].actor.name == "APT37"
    assert known.resolve("Velvet Chollima").status is Status.RESOLVED
    manifest = Cache(config.cache.dir or Path()).current().manifest  # type: ignore[union-attr]
    entry = manifest["files"]["clusters/threat-actor.json"]
    assert entry["source"] == "misp-galaxy" and entry["url"] == server.url + TA and entry["version"] == 11
    assert entry["etag"] and len(entry["sha256"]) == 64

    server.requests.clear()
    again = run(config)
    assert again.status == "up-to-date" and again.generation == report.generation
    assert {f.status for f in again.files} == {"not-modified"}
    assert all(r.if_none_match for r in server.requests) and len(server.requests) == 2 * len(NAMES)
    assert snapshot(config)[0] == report.generation


FAILURES = [
    ("timeout", {"mode": "hang"}, "timed out after 0.3 s after 2 tries"),
    ("5xx", {"mode": "status", "code": 502}, "HTTP 502 after 2 tries"),
    ("truncated", {"mode": "truncate", "sent": 120}, "body truncated: got 120 of"),
    ("invalid json", {"mode": "body", "body": b'{"type": "threat-actor", "values": [}'}, "not valid JSON"),
    ("wrong type", {"mode": "body", "body": json.dumps({**json.loads((MINI / "clusters/botnet.json").read_text()),
                                                        "type": "botnet"}).encode()},
     "galaxy type is 'botnet', expected 'threat-actor'"),
    ("older version", {"mode": "body", "body": json.dumps({**json.loads((MINI / "clusters/threat-actor.json")
                                                                        .read_text()), "version": 7}).encode()},
     r"version 7 is older than the version in use \(10\)"),
    ("oversized", {"mode": "body", "body": b" " * 200_000}, "body larger than 100000 bytes"),
    ("slow drip", {"mode": "drip", "interval": 0.02}, "download too slow: not finished after 1 s"),
    ("redirect to https", {"mode": "redirect", "location": "https://127.0.0.1:1" + TA}, "redirect from http to https"),
    ("not found", {"mode": "status", "code": 404}, "HTTP 404"),
]


@pytest.mark.parametrize("behaviour, message", [f[1:] for f in FAILURES], ids=[f[0] for f in FAILURES])
def test_a_failed_update_keeps_the_data_in_use(seeded: SiteConfig, server: HttpStandIn,
                                               behaviour: dict[str, Any], message: str) -> None:
    config = replace(seeded, sources=replace(seeded.sources, misp_galaxy=server.url + "/misp-galaxy"))
    before = snapshot(config)
    server.set(TA, **behaviour)
    started = time.monotonic()
    report = run(config)
    assert time.monotonic() - started < 3
    assert report.status == "failed" and report.generation == before[0]
    problem = " | ".join(str(p) for p in report.problems)
    assert "misp-galaxy: threat-actor.json: " in problem and f"{server.url}{TA}" in problem
    assert re.search(message, problem), problem
    assert len(report.problems) == 1                   # the other files were fine
    assert snapshot(config) == before
    assert knowledge(config).resolve("Reaper").candidates[0].actor.name == "APT37"
    generations = Cache(config.cache.dir or Path()).root / "generations"
    assert [p.name for p in generations.iterdir() if p.name.startswith(".staging")] == []


def test_force_accepts_an_older_version(seeded: SiteConfig, server: HttpStandIn) -> None:
    config = replace(seeded, sources=replace(seeded.sources, misp_galaxy=server.url + "/misp-galaxy"))
    older = json.loads((UPDATE / "misp-galaxy/clusters/threat-actor.json").read_text())
    server.set(TA, "body", body=json.dumps({**older, "version": 7}).encode())
    assert run(config).status == "failed"
    report = run(config, force=True)
    assert report.status == "updated"
    assert Cache(config.cache.dir or Path()).current().manifest["files"][  # type: ignore[union-attr]
        "clusters/threat-actor.json"]["version"] == 7


def test_file_url_and_folder_sources(tmp_path: Path) -> None:
    config = site(tmp_path / "a", misp_galaxy=(UPDATE / "misp-galaxy").as_uri())
    assert run(config).status == "updated"
    assert knowledge(config).resolve("Thallium").status is Status.RESOLVED
    other = site(tmp_path / "b")
    report = run(other, only=str(UPDATE / "misp-galaxy"))
    assert report.status == "updated"
    assert snapshot(other)[1] == snapshot(config)[1] | {"manifest.json": snapshot(other)[1]["manifest.json"]}


def test_attack_bundle_adds_groups_and_aliases_then_304(seeded: SiteConfig, server: HttpStandIn) -> None:
    bundle = server.url + "/attack/enterprise-attack.json"
    config = replace(seeded, sources=replace(seeded.sources, mitre_attack=bundle))
    report = run(config)
    assert report.status == "updated", report.problems
    assert any(n.startswith("ATT&CK 15.1: 2 groups, 1 clusters updated, 1 added") for n in report.notes)
    changes = {c.galaxy: c for c in report.changes}["mitre-intrusion-set"]
    assert changes.new == ("Moonstone Sleet - G1036",)
    assert dict(changes.new_aliases)["APT37 - G0067"][:2] == ("ScarCruft", "Reaper")
    known = knowledge(config)
    assert known.resolve("Storm-1789").candidates[0].actor.name.startswith("Moonstone Sleet")
    assert known.resolve("TEMP.Reaper").candidates[0].actor.name == "APT37"
    manifest = Cache(config.cache.dir or Path()).current().manifest  # type: ignore[union-attr]
    assert manifest["files"]["clusters/mitre-intrusion-set.json"]["merged"] == ["mitre-attack"]
    assert manifest["sources"]["mitre-attack"]["version"] == "15.1"
    again = run(config)
    assert again.status == "up-to-date" and server.requests[-1].if_none_match


def test_the_instance_replaces_its_galaxy_types(seeded: SiteConfig, capsys: pytest.CaptureFixture[str]) -> None:
    with StandIn() as misp:
        misp.add_galaxy(json.loads((UPDATE / "misp/galaxy_view_12.json").read_text()))
        config = replace(seeded, misp=MispSection(url=misp.url, key=KEY),
                         sources=replace(seeded.sources, misp_galaxy=None, misp_instance=True))
        report = run(config)
    assert report.status == "updated", report.problems
    known = knowledge(config)
    crew = known.resolve("Dockside Spider").candidates[0]
    assert crew.actor.name == "Harbour Crew"
    assert 'misp-galaxy:threat-actor="a1b2c3d4-0000-4000-8000-00000000c0de"' in crew.tags
    assert known.cluster_for_tag("threat-actor", "APT37") is not None
    assert known.cluster_for_tag("threat-actor", "Weird Actor") is None      # not on the instance: never tagged
    assert known.cluster_for_tag("mitre-intrusion-set", "APT37 - G0067") is not None   # other types kept
    entry = Cache(config.cache.dir or Path()).current().manifest["files"]["clusters/threat-actor.json"]  # type: ignore
    assert entry["source"] == "misp-instance" and KEY not in json.dumps(entry)


def test_change_summary_by_uuid() -> None:
    old = json.loads((MINI / "clusters/threat-actor.json").read_text())
    new = json.loads((UPDATE / "misp-galaxy/clusters/threat-actor.json").read_text())
    changes = diff_documents(old, new)
    assert changes is not None and changes.removed == () and changes.new == ("Kimsuky",)
    assert diff_documents(old, old) is None
    assert diff_documents(new, old).removed == ("Kimsuky",)  # type: ignore[union-attr]


# --- the CLI ---------------------------------------------------------------------------------------


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return path


def test_cli_update_status_and_exit_codes(tmp_path: Path, server: HttpStandIn, capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("misp_actor_enrich.data.refresh.bundled_data_dir", lambda: MINI)
    monkeypatch.setenv("MISP_KEY", KEY)
    monkeypatch.delenv("MISP_URL", raising=False)
    config = write_config(tmp_path, f"""
sources:
  misp_galaxy: {server.url}/misp-galaxy
  galaxies: [{", ".join(NAMES)}]
  timeout: 1
  retries: 0
cache:
  dir: {tmp_path / "cache"}
  stale_after_days: 30
""")
    assert cli.main(["update", "--config", str(config)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("updated: now using generation ") and "threat-actor: 1 new: Kimsuky" in out
    assert cli.main(["update", "--config", str(config)]) == 0
    assert capsys.readouterr()[0].startswith("up to date: generation ")

    server.set(TA, "status", code=503)
    assert cli.main(["update", "--config", str(config), "--json"]) == 3
    report = json.loads(capsys.readouterr()[0])
    assert report["status"] == "failed" and "HTTP 503" in report["problems"][0]["text"]

    assert cli.main(["status", "--config", str(config), "--json"]) == 0
    state = json.loads(capsys.readouterr()[0])
    assert state["in_use"] == "cache" and state["stale"] is False and state["warnings"] == []
    assert {g["galaxy"] for g in state["galaxies"]} == set(NAMES)

    assert cli.main(["update", "--config", str(config), "--source", "ftp://example.org/x"]) == 2
    assert "only https://, http://, file://" in capsys.readouterr()[1]
    out_all = capsys.readouterr()
    assert KEY not in out_all[0] + out_all[1]


def test_cli_status_warns_when_stale(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = site(tmp_path / "cache", misp_galaxy=str(MINI))
    assert run(config).status == "updated"
    cache = Cache(tmp_path / "cache")
    current = cache.current()
    assert current is not None
    write_json_atomic(current.path / "manifest.json", {**current.manifest, "created": time.time() - 90 * 86400})
    (cache.root / "last-check.json").unlink()
    report = status(config)
    assert report.stale and report.age_days > 89 and "stale: last successful update 90 days ago" in report.warnings[0]
    path = write_config(tmp_path, f"cache:\n  dir: {tmp_path / 'cache'}\n  stale_after_days: 30\n")
    assert cli.main(["status", "--config", str(path)]) == 1
    out = capsys.readouterr()[0]
    assert "warning: stale" in out and f"generation {current.id}" in out


def test_cli_status_on_bundled_data_is_honest_about_age(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("misp_actor_enrich.data.refresh.bundled_data_dir", lambda: MINI)
    report = status(site(tmp_path / "empty"))
    assert report.in_use == "bundled" and report.generation is None
    assert "of unknown date" in report.notes[0] and report.bundle == {}


def test_cli_never_prints_the_api_key(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("misp_actor_enrich.data.refresh.bundled_data_dir", lambda: MINI)
    for name in ("MISP_KEY", "MISP_API_KEY", "MISP_URL"):
        monkeypatch.delenv(name, raising=False)
    with StandIn() as misp:
        misp.key = "another-" + KEY                        # so every request is refused: errors mention the call
        config = write_config(tmp_path, f"""
misp:
  url: {misp.url}
  key: {KEY}
  verify_tls: false
sources:
  misp_galaxy: false
  misp_instance: true
  galaxies: [{", ".join(NAMES)}]
cache:
  dir: {tmp_path / "cache"}
""")
        code = cli.main(["update", "--config", str(config)])
        json_code = cli.main(["update", "--config", str(config), "--json"])
    out, err = capsys.readouterr()
    assert code == json_code == 3
    assert "misp-instance: connect:" in out and KEY not in out + err
    assert cli.main(["status", "--config", str(config), "--json"]) == 0   # bundled, freshly installed
    out, err = capsys.readouterr()
    assert KEY not in out + err


def test_with_the_instance_configured_its_galaxies_are_not_fetched_upstream(seeded: SiteConfig,
                                                                          server: HttpStandIn) -> None:
    with StandIn() as misp:
        misp.add_galaxy(json.loads((UPDATE / "misp/galaxy_view_12.json").read_text()))
        config = replace(seeded, misp=MispSection(url=misp.url, key=KEY),
                         sources=replace(seeded.sources, misp_galaxy=server.url + "/misp-galaxy", misp_instance=True))
        assert run(config).status == "updated"
        server.requests.clear()
        again = run(config)
    assert again.status == "up-to-date", again.problems
    assert TA not in server.paths() and len(server.paths()) == 2 * (len(NAMES) - 1)


def _command(*args: str, env: dict[str, str] | None = None, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "misp_actor_enrich", *args], capture_output=True, text=True,
                          timeout=120, env={**os.environ, **(env or {})}, **kwargs)


def test_cli_update_fails_in_seconds_when_the_hosts_refuse(tmp_path: Path) -> None:
    """No network: one line per source saying why, not a minute of retries for every file."""
    config = write_config(tmp_path, f"""
sources:
  misp_galaxy: http://127.0.0.1:1/misp-galaxy
  mitre_attack: http://127.0.0.1:1/enterprise-attack.json
  galaxies: [{", ".join(NAMES)}]
  retries: 3
cache:
  dir: {tmp_path / "cache"}
""")
    started = time.monotonic()
    done = _command("update", "--config", str(config))
    assert time.monotonic() - started < 15            # was 4 files x 7 s of backoff, plus ATT&CK
    assert done.returncode == 3 and "Traceback" not in done.stderr
    lines = done.stdout.splitlines()
    assert re.fullmatch(r"update failed after \d+\.\d s; still using the bundled data, unchanged:", lines[0])
    assert lines[1] == ("  misp-galaxy: threat-actor.json: http://127.0.0.1:1/misp-galaxy/galaxies/threat-actor.json: "
                        "cannot connect (Connection refused); the other 3 galaxies were not tried")
    assert lines[2] == ("  mitre-attack: enterprise-attack: http://127.0.0.1:1/enterprise-attack.json: "
                        "cannot connect (Connection refused)")
    assert not (tmp_path / "cache" / "current").exists()


def test_cli_update_shows_progress_on_a_terminal_and_a_summary(tmp_path: Path, server: HttpStandIn) -> None:
    config = write_config(tmp_path, f"""
sources:
  misp_galaxy: {server.url}/misp-galaxy
  galaxies: [{", ".join(NAMES)}]
cache:
  dir: {tmp_path / "cache"}
""")
    controller, terminal = pty.openpty()
    try:
        process = subprocess.Popen([sys.executable, "-m", "misp_actor_enrich", "update", "--force", "--config",
                                    str(config)], stdout=subprocess.PIPE, stderr=terminal, text=True)
        os.close(terminal)
        shown = b""
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:                           # the terminal closed: the command ended
                break
            if not chunk:
                break
            shown += chunk
        out = process.communicate(timeout=120)[0]
    finally:
        os.close(controller)
    assert process.returncode == 0
    progress = shown.decode()
    for n, name in enumerate(["galaxies/threat-actor.json", "clusters/threat-actor.json"], start=1):
        assert f"file {n}: {name}" in progress
    assert "file 8: clusters/sector.json" in progress and progress.endswith("\r\x1b[K")
    assert re.match(r"updated: now using generation \S+ \(was the bundled data\); 8 files fetched, 0 not modified, "
                    r"in \d+\.\d s\n", out)


def test_cli_status_reports_a_site_file_to_fix(tmp_path: Path) -> None:
    folder = tmp_path / "config" / "misp-actor-enrich"
    folder.mkdir(parents=True)
    (folder / "overrides.yaml").write_text("targeting:\n  APT37: {sectors: [Enrgy]}\n", encoding="utf-8")
    done = _command("status", env={"XDG_CONFIG_HOME": str(tmp_path / "config")})
    assert done.returncode == 2
    assert (f"error: {folder / 'overrides.yaml'}: targeting.APT37.sectors: unknown sector 'Enrgy'; did you mean "
            "'Energy'?") in done.stdout
    resolve = _command("resolve", "APT37", env={"XDG_CONFIG_HOME": str(tmp_path / "config")})
    assert resolve.returncode == 0 and "unknown sector 'Enrgy'" in resolve.stderr     # a warning; it answers
    assert "APT37" in resolve.stdout and "using the last good file until it is fixed" in resolve.stderr


def test_cli_update_checks_misp_url_from_the_environment(tmp_path: Path) -> None:
    done = _command("update", "--cache-dir", str(tmp_path / "cache"), env={"MISP_URL": "misp.example.org"})
    assert done.returncode == 2
    assert done.stderr == "misp-actor-enrich: MISP_URL: expected an http:// or https:// URL, got 'misp.example.org'\n"
