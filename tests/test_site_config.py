"""The YAML site config: strict keys, errors that name file, line and key, module settings as in MISP."""

from __future__ import annotations

from pathlib import Path

import pytest

from misp_actor_enrich.core.errors import ConfigError
from misp_actor_enrich.core.settings import Settings
from misp_actor_enrich.data.site_config import SiteConfig, default_path, load

FULL = """\
misp:
  url: https://misp.example.org
  key: secret-key-value
  verify_tls: false
  ca_bundle: ca.pem
module:
  galaxy_types: [threat-actor, mitre-intrusion-set]
  tag_ambiguous: true
  tag_suggestions_above: 0.9
  max_links: 2
"""


def write(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    path.chmod(mode)
    return path


def error(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load(write(tmp_path, text))
    return str(caught.value)


def test_a_full_file(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    config = load(write(tmp_path, FULL))
    assert config.misp.url == "https://misp.example.org"
    assert config.misp.key == "secret-key-value"
    assert config.misp.verify_tls is False
    assert config.misp.ca_bundle == (tmp_path / "ca.pem").resolve()       # relative to the config file
    assert config.module == Settings(galaxy_types=("threat-actor", "mitre-intrusion-set"), tag_ambiguous=True,
                                     tag_suggestions_above=0.9, max_links=2)
    assert config.warnings == ()
    assert "secret-key-value" not in repr(config)


def test_empty_and_missing_files(tmp_path: Path) -> None:
    assert load(write(tmp_path, "")) == SiteConfig(path=tmp_path / "config.yaml")
    assert load(None, environ={"XDG_CONFIG_HOME": str(tmp_path / "none")}) == SiteConfig()
    with pytest.raises(ConfigError, match="no such file"):
        load(tmp_path / "absent.yaml")


def test_default_path_follows_xdg() -> None:
    assert default_path({"XDG_CONFIG_HOME": "/x"}) == Path("/x/misp-actor-enrich/config.yaml")
    assert default_path({"HOME": "/home/u"}) == Path("/home/u/.config/misp-actor-enrich/config.yaml")


@pytest.mark.parametrize(("text", "expected"), [
    ("misp:\n  url: https://m\nsource: {}\n", ":3: source: unknown section"),
    ("sources:\n  misp_galaxy: ftp://mirror/galaxy\n", ":2: sources.misp_galaxy: only https://"),
    ("sources:\n  timeout: 0\n", ":2: sources.timeout: expected 1 to 600"),
    ("sources:\n  galaxies: threat-actor\n", ":2: sources.galaxies: expected a list"),
    ("cache:\n  stale_after_days: 1.5\n", ":2: cache.stale_after_days: expected a whole number"),
    ("cache:\n  where: /tmp\n", ":2: cache.where: unknown key"),
    ("misp:\n  url: https://m\n  verify: true\n", ":3: misp.verify: unknown key"),
    ("misp:\n  url: https://m\n  url: https://n\n", ":3: misp.url: duplicate key"),
    ("misp:\n  verify_tls: 1\n", ":2: misp.verify_tls: expected true or false"),
    ("misp:\n  url: misp.example.org\n", ":2: misp.url: expected an http"),
    ("misp:\n  url: [a, b]\n", ":2: misp.url: expected a string"),
    ("misp:\n  ca_bundle: nope.pem\n", ":2: misp.ca_bundle: no such file"),
    ("module:\n  tag_ambiguous: true\n  max_links: 99\n", ":3: module.max_links: expected 0 to 50"),
    ("module:\n  suggestions: perhaps\n", ":2: module.suggestions: expected a boolean"),
    ("module:\n  galaxy: threat-actor\n", ":2: module.galaxy: unknown setting"),
    ("- misp\n", ":1: (top level): expected a mapping"),
    ("misp: [url]\n", ":1: misp: expected a mapping"),
    ("misp:\n  url: 'unterminated\n", "not valid YAML"),
])
def test_errors_name_the_file_line_and_key(tmp_path: Path, text: str, expected: str) -> None:
    message = error(tmp_path, text)
    assert message.startswith(str(tmp_path / "config.yaml"))
    assert expected in message


def test_a_key_in_a_file_others_can_read_is_warned_about(tmp_path: Path) -> None:
    config = load(write(tmp_path, "misp:\n  key: k\n", mode=0o644))
    assert config.warnings and "chmod 600" in config.warnings[0]
    assert load(write(tmp_path, "misp:\n  url: https://m\n", mode=0o644)).warnings == ()


def test_module_values_may_be_written_as_misp_strings(tmp_path: Path) -> None:
    config = load(write(tmp_path, "module:\n  galaxy_types: 'threat-actor, mitre-intrusion-set'\n"
                                  "  include_aliases_as_attributes: '1'\n  tag_suggestions_above:\n"))
    assert config.module == Settings(galaxy_types=("threat-actor", "mitre-intrusion-set"),
                                     include_aliases_as_attributes=True)


def test_sources_cache_and_overrides_sections(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "sources:\n  misp_galaxy: mirror/galaxy\n  mitre_attack: true\n  misp_instance: true\n"
        "  galaxies: [threat-actor, sector]\n  timeout: 5\ncache:\n  dir: cache\n  stale_after_days: 7\n"
        "overrides: site/overrides.yaml\n", encoding="utf-8")
    config = load(path)
    assert config.sources.misp_galaxy == str(tmp_path / "mirror" / "galaxy")
    assert config.sources.mitre_attack is not None and config.sources.mitre_attack.startswith("https://")
    assert config.sources.misp_instance and config.sources.galaxies == ("threat-actor", "sector")
    assert config.sources.timeout == 5.0
    assert config.cache.dir == tmp_path / "cache" and config.cache.stale_after_days == 7
    assert config.overrides == tmp_path / "site" / "overrides.yaml"
    off = tmp_path / "off.yaml"
    off.write_text("sources:\n  misp_galaxy: false\n", encoding="utf-8")
    assert load(off).sources.misp_galaxy is None
