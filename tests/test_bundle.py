"""The galaxy data bundled in the package: what the manifest says, what the wheel ships, the refresh command."""

from __future__ import annotations

import calendar
import configparser
import fnmatch
import gzip
import hashlib
import json
import shutil
from pathlib import Path

import pytest
from conftest import MINI_GALAXY, ROOT

from misp_actor_enrich.core.errors import DataError
from misp_actor_enrich.core.galaxy import galaxy_info
from misp_actor_enrich.data import bundle
from misp_actor_enrich.data.cache import Cache
from misp_actor_enrich.data.refresh import load_in_use, status
from misp_actor_enrich.data.site_config import CacheSection, SiteConfig
from misp_actor_enrich.data.store import (
    BUNDLED_DIR,
    bundled_date,
    bundled_label,
    bundled_manifest,
    load_knowledge,
    read_json,
)

ACTOR_FILES = {"threat-actor", "mitre-intrusion-set", "microsoft-activity-group", "360net", "mitre-ics-groups",
               "tidal-groups", "ransomware"}
VOCABULARY_FILES = {"target-information", "sector", "region"}


def test_the_bundle_is_what_its_manifest_says() -> None:
    manifest = bundled_manifest()
    assert manifest["source"] == "misp-galaxy" and len(manifest["commit"]) == 40
    assert set(manifest["galaxies"]) == ACTOR_FILES | VOCABULARY_FILES
    for name, entry in manifest["galaxies"].items():
        packed = BUNDLED_DIR / "clusters" / f"{name}.json.gz"
        raw = gzip.decompress(packed.read_bytes())
        assert hashlib.sha256(raw).hexdigest() == entry["sha256"], name
        document = json.loads(raw)
        assert (galaxy_info(document).type, galaxy_info(document).version) == (entry["type"], entry["version"])
        assert read_json(BUNDLED_DIR / "galaxies" / f"{name}.json")["type"] == entry["type"]
    assert manifest["galaxies"]["threat-actor"]["version"] == 349
    assert sorted(p.name for p in (BUNDLED_DIR / "clusters").iterdir()) == sorted(
        f"{n}.json.gz" for n in manifest["galaxies"])


def test_setup_cfg_ships_every_bundled_file() -> None:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    patterns = [p.strip() for p in config["options.package_data"]["misp_actor_enrich"].split("\n") if p.strip()]
    package = ROOT / "misp_actor_enrich"
    shipped = [p for p in BUNDLED_DIR.rglob("*") if p.is_file()]
    assert shipped
    for path in shipped:
        relative = path.relative_to(package).as_posix()
        assert any(fnmatch.fnmatch(relative, pattern) for pattern in patterns), relative
    requires = config["options"]["install_requires"]
    assert "pymispgalaxies" not in requires and "pymispgalaxies" in config["options.extras_require"]["test"]


def test_the_default_data_is_the_bundle(bundled: object) -> None:
    label = bundled_label()
    assert label.startswith("misp-galaxy 9434ace (2026-08-06), bundled with misp-actor-enrich ")
    assert bundled_date() == calendar.timegm((2026, 8, 6, 0, 0, 0))


def _config(tmp_path: Path) -> SiteConfig:
    return SiteConfig(cache=CacheSection(dir=tmp_path / "cache", stale_after_days=30))


def test_status_shows_the_bundled_commit_date_and_versions(tmp_path: Path) -> None:
    dated = bundled_date()
    assert dated is not None
    fresh = status(_config(tmp_path), now=dated + 5 * 86400)
    assert fresh.in_use == "bundled" and not fresh.stale and fresh.warnings == ()
    assert fresh.bundle == {"source": "misp-galaxy", "commit": bundled_manifest()["commit"], "date": "2026-08-06"}
    assert {g.galaxy: g.version for g in fresh.galaxies}["threat-actor"] == 349
    assert "commit 9434ace4eb925c9a1c9b3bccf014a25f9d14f0b0 of 2026-08-06" in fresh.notes[0]
    old = status(_config(tmp_path), now=dated + 100 * 86400)
    assert old.stale and "the bundled data is 100 days old" in old.warnings[0]


def test_an_update_starts_from_the_bundled_data(tmp_path: Path) -> None:
    in_use = load_in_use(Cache(tmp_path / "cache"))
    assert in_use.generation is None and in_use.root == BUNDLED_DIR and in_use.label == bundled_label()
    assert set(in_use.documents) == ACTOR_FILES | VOCABULARY_FILES
    assert in_use.documents["threat-actor"]["version"] == 349
    assert set(in_use.definitions) == set(in_use.documents)


def _checkout(tmp_path: Path) -> Path:
    """A misp-galaxy checkout to bundle: the mini galaxy, with a SOURCE file saying which commit it is."""
    checkout = tmp_path / "misp-galaxy"
    shutil.copytree(MINI_GALAXY, checkout)
    (checkout / "SOURCE").write_text("misp-galaxy snapshot (commit 0123456789abcdef0123456789abcdef01234567, "
                                     "2026-01-02): actor galaxies\n", encoding="utf-8")
    return checkout


def test_the_bundle_command_packs_a_checkout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "bundled"
    assert bundle.main([str(_checkout(tmp_path)), "--target", str(target)]) == 0
    assert "bundled misp-galaxy 0123456789abcdef0123456789abcdef01234567 (2026-01-02)" in capsys.readouterr()[0]
    manifest = bundled_manifest(target)
    # Actor galaxies and the vocabulary; not the botnet galaxy, not the deprecated ATT&CK one.
    assert set(manifest["galaxies"]) == {"threat-actor", "mitre-intrusion-set", "microsoft-activity-group",
                                         "sector", "target-information"}
    assert manifest["galaxies"]["threat-actor"]["clusters"] == 8
    first = {p.name: p.read_bytes() for p in (target / "clusters").iterdir()}
    knowledge = load_knowledge(target)
    assert knowledge.resolve("Reaper").candidates[0].actor.name == "APT37"
    assert {g.type for g in knowledge.origin.galaxies} == {"threat-actor", "mitre-intrusion-set",
                                                           "microsoft-activity-group"}
    assert bundle.main([str(tmp_path / "misp-galaxy"), "--target", str(target)]) == 0
    assert {p.name: p.read_bytes() for p in (target / "clusters").iterdir()} == first      # reproducible bytes


def test_the_bundle_command_keeps_the_old_bundle_when_the_new_one_is_bad(tmp_path: Path,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "bundled"
    checkout = _checkout(tmp_path)
    assert bundle.main([str(checkout), "--target", str(target)]) == 0
    before = bundled_manifest(target)
    for path in (checkout / "clusters").glob("*.json"):
        if path.stem not in ("sector", "target-information"):
            path.unlink()
    assert bundle.main([str(checkout), "--target", str(target)]) == 1
    assert "no actor galaxy" in capsys.readouterr()[1]
    assert bundled_manifest(target) == before
    assert not list(tmp_path.glob(".bundle-*"))


def test_the_bundle_command_needs_to_know_the_commit(tmp_path: Path) -> None:
    checkout = _checkout(tmp_path)
    (checkout / "SOURCE").unlink()
    with pytest.raises(DataError, match="pass --commit and --date"):
        bundle.build(checkout, tmp_path / "bundled")
    manifest = bundle.build(checkout, tmp_path / "bundled", commit="abc1234", date="2026-03-04")
    assert (manifest["commit"], manifest["date"]) == ("abc1234", "2026-03-04")
    with pytest.raises(DataError, match="expected YYYY-MM-DD"):
        bundle.build(checkout, tmp_path / "bundled", commit="abc1234", date="March")
