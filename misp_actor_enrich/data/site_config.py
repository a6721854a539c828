"""The site's YAML config file: where MISP is, how to trust it, and the module's settings.

Strict on purpose: an unknown key, a duplicate key or a value of the wrong type is a
``ConfigError`` naming the file, the line and the dotted key, so a typo never turns
into a silently ignored option. Values are validated here, at load time.

Default location: ``$XDG_CONFIG_HOME/misp-actor-enrich/config.yaml`` (``~/.config/...``)::

    misp:
      url: https://misp.example.org
      key: ...                 # or leave out and set MISP_KEY in the environment
      verify_tls: true
      ca_bundle: /etc/ssl/misp-ca.pem
    module:                    # the misp-modules settings (README, Configuration)
      galaxy_types: [threat-actor, mitre-intrusion-set]
      tag_ambiguous: false

    cache:
      dir: /var/cache/misp-actor-enrich
      stale_after_days: 30
    sources:                   # what `misp-actor-enrich update` fetches
      misp_galaxy: true        # upstream raw files; or a mirror URL, file:// URL or folder; false: off
      mitre_attack: true       # ATT&CK's enterprise STIX bundle (or a URL / file)
      misp_instance: true      # the instance's own galaxies, through the misp: section
    overrides: overrides.yaml  # site aliases, pins, private actors (relative to this file)

A section is one entry in ``SECTIONS``: a name and a parser from the section's YAML
node to a frozen value.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Callable, Mapping

import yaml

from ..core.errors import ConfigError
from ..core.galaxy import DataLimits
from ..core.settings import MODULE_CONFIG, Settings
from .yaml_file import YamlContext, compose, read_site_file

APP_DIR = "misp-actor-enrich"


@dataclass(frozen=True, slots=True)
class MispSection:
    url: str | None = None
    key: str | None = field(default=None, repr=False)   # never in repr, logs or reports
    verify_tls: bool = True
    ca_bundle: Path | None = None


UPSTREAM_GALAXY = "https://raw.githubusercontent.com/MISP/misp-galaxy/main"
UPSTREAM_ATTACK = ("https://raw.githubusercontent.com/mitre-attack/attack-stix-data/master/"
                   "enterprise-attack/enterprise-attack.json")


@dataclass(frozen=True, slots=True)
class CacheSection:
    dir: Path | None = None           # None: $XDG_CACHE_HOME/misp-actor-enrich
    stale_after_days: int = 30


@dataclass(frozen=True, slots=True)
class SourcesSection:
    """Where ``update`` fetches from. misp-galaxy is on unless switched off; the others are opt-in."""

    misp_galaxy: str | None = UPSTREAM_GALAXY        # base URL, file:// URL or folder; None: off
    galaxies: tuple[str, ...] | None = None           # cluster file names; None: actor + vocabulary galaxies
    mitre_attack: str | None = None                   # STIX bundle URL, file:// URL or file; None: off
    misp_instance: bool = False                       # the instance in the misp: section, through PyMISP
    timeout: float = 30.0                             # seconds per connection/read, and 10x per download
    max_bytes: int = 100 * 1024 * 1024                # per file
    retries: int = 3
    deadline: float = 900.0                           # seconds for a whole update, every source and file


@dataclass(frozen=True, slots=True)
class SiteConfig:
    path: Path | None = None
    misp: MispSection = MispSection()
    module: Settings = Settings()
    cache: CacheSection = CacheSection()
    sources: SourcesSection = SourcesSection()
    overrides: Path | None = None                     # None: overrides.yaml beside the config, if present
    limits: DataLimits = DataLimits()                 # what a galaxy file may hold (update and loading)
    warnings: tuple[str, ...] = ()


def default_path(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME") or Path.home()) / ".config")
    return Path(base) / APP_DIR / "config.yaml"


def load(path: Path | str | None = None, *, environ: Mapping[str, str] | None = None) -> SiteConfig:
    """Read ``path``; with None, the default file if it exists, else an empty config."""
    explicit = path is not None
    where = Path(path) if path is not None else default_path(environ)
    if not where.exists():
        if explicit:
            raise ConfigError("no such file", field=str(where))
        return SiteConfig()
    return parse(read_site_file(where), where)


def parse(text: str, path: Path) -> SiteConfig:
    root = compose(text, path)
    config = SiteConfig(path=path)
    if root is None:
        return config
    ctx = YamlContext(path)
    for key, (key_node, value_node) in ctx.mapping(root, "").items():
        section = SECTIONS.get(key)
        if section is None:
            raise ctx.error(key_node, key, f"unknown section; known sections are {', '.join(SECTIONS)}")
        config = section(config, value_node, ctx)
    return replace(config, warnings=tuple(ctx.warnings))


def _misp_section(config: SiteConfig, node: yaml.Node, ctx: YamlContext) -> SiteConfig:
    values: dict[str, Any] = {}
    for key, (key_node, value_node) in ctx.mapping(node, "misp").items():
        dotted = f"misp.{key}"
        if key == "url":
            url = ctx.string(value_node, dotted)
            if url is not None and not url.startswith(("https://", "http://")):
                raise ctx.error(value_node, dotted, "expected an http:// or https:// URL")
            values["url"] = url
        elif key == "key":
            values["key"] = ctx.string(value_node, dotted)
        elif key == "verify_tls":
            flag = ctx.value(value_node)
            if not isinstance(flag, bool):
                raise ctx.error(value_node, dotted, "expected true or false")
            values["verify_tls"] = flag
        elif key == "ca_bundle":
            raw = ctx.string(value_node, dotted)
            if raw is not None:
                bundle = (ctx.path.parent / Path(raw).expanduser()).resolve()  # relative to the config file
                if not bundle.is_file():
                    raise ctx.error(value_node, dotted, f"no such file: {bundle}")
                values["ca_bundle"] = bundle
        else:
            raise ctx.error(key_node, dotted, "unknown key; known keys are url, key, verify_tls, ca_bundle")
    if values.get("key") and _readable_by_others(ctx.path):
        ctx.warnings.append(f"{ctx.path} holds the MISP API key and is readable by other users; chmod 600 it")
    return replace(config, misp=MispSection(**values))


def _module_section(config: SiteConfig, node: yaml.Node, ctx: YamlContext) -> SiteConfig:
    strings: dict[str, str | None] = {}
    nodes = ctx.mapping(node, "module")
    for key, (key_node, value_node) in nodes.items():
        if key not in MODULE_CONFIG:
            raise ctx.error(key_node, f"module.{key}", f"unknown setting; known settings are {', '.join(MODULE_CONFIG)}")
        strings[key] = _as_setting_string(ctx.value(value_node))
    try:
        settings = Settings.from_module_config(strings)
    except ConfigError as exc:
        key = (exc.field or "").removeprefix("config.")
        value_node = nodes[key][1] if key in nodes else node
        raise ctx.error(value_node, f"module.{key}", exc.message) from None
    return replace(config, module=settings)


def _as_setting_string(value: Any) -> str | None:
    # misp-modules config arrives as strings; the same parser then applies to both.
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


def _readable_by_others(path: Path) -> bool:
    try:
        return bool(path.stat().st_mode & (stat.S_IRGRP | stat.S_IROTH))
    except OSError:
        return False


def _cache_section(config: SiteConfig, node: yaml.Node, ctx: YamlContext) -> SiteConfig:
    values: dict[str, Any] = {}
    for key, (key_node, value_node) in ctx.mapping(node, "cache").items():
        dotted = f"cache.{key}"
        if key == "dir":
            raw = ctx.string(value_node, dotted)
            values["dir"] = _relative_path(ctx, raw) if raw else None
        elif key == "stale_after_days":
            values["stale_after_days"] = _number(ctx, value_node, dotted, int, 1, 3650)
        else:
            raise ctx.error(key_node, dotted, "unknown key; known keys are dir, stale_after_days")
    return replace(config, cache=CacheSection(**values))


def _sources_section(config: SiteConfig, node: yaml.Node, ctx: YamlContext) -> SiteConfig:
    values: dict[str, Any] = {}
    for key, (key_node, value_node) in ctx.mapping(node, "sources").items():
        dotted = f"sources.{key}"
        if key in ("misp_galaxy", "mitre_attack"):
            raw = ctx.value(value_node)
            if raw is False or raw is None:
                values[key] = None
            elif raw is True:
                values[key] = UPSTREAM_GALAXY if key == "misp_galaxy" else UPSTREAM_ATTACK
            elif isinstance(raw, str) and raw.strip():
                values[key] = _source_location(ctx, value_node, dotted, raw.strip())
            else:
                raise ctx.error(value_node, dotted, "expected true, false, a URL or a path")
        elif key == "galaxies":
            raw = ctx.value(value_node)
            if not isinstance(raw, list) or not raw or not all(isinstance(g, str) and g.strip() for g in raw):
                raise ctx.error(value_node, dotted, "expected a list of galaxy file names such as threat-actor")
            values["galaxies"] = tuple(dict.fromkeys(g.strip() for g in raw))
        elif key == "misp_instance":
            flag = ctx.value(value_node)
            if not isinstance(flag, bool):
                raise ctx.error(value_node, dotted, "expected true or false")
            values["misp_instance"] = flag
        elif key == "timeout":
            values["timeout"] = _number(ctx, value_node, dotted, float, 1, 600)
        elif key == "max_bytes":
            values["max_bytes"] = _number(ctx, value_node, dotted, int, 1024, 2 * 1024 ** 3)
        elif key == "retries":
            values["retries"] = _number(ctx, value_node, dotted, int, 0, 10)
        elif key == "deadline":
            values["deadline"] = _number(ctx, value_node, dotted, float, 10, 24 * 3600)
        else:
            raise ctx.error(key_node, dotted, "unknown key; known keys are misp_galaxy, galaxies, mitre_attack, "
                                              "misp_instance, timeout, max_bytes, retries, deadline")
    return replace(config, sources=SourcesSection(**values))


def _overrides_section(config: SiteConfig, node: yaml.Node, ctx: YamlContext) -> SiteConfig:
    raw = ctx.string(node, "overrides")
    return replace(config, overrides=_relative_path(ctx, raw) if raw else None)


def _source_location(ctx: YamlContext, node: yaml.Node, key: str, raw: str) -> str:
    """Only http(s) and local files are sources; a relative path is relative to the config file."""
    if raw.startswith(("https://", "http://", "file://")):
        return raw
    if "://" in raw:
        raise ctx.error(node, key, "only https://, http://, file:// URLs or local paths are allowed")
    return str(_relative_path(ctx, raw))


def _relative_path(ctx: YamlContext, raw: str) -> Path:
    return (ctx.path.parent / Path(raw).expanduser()).resolve()


def _number(ctx: YamlContext, node: yaml.Node, key: str, kind: type[int] | type[float], low: float, high: float) -> Any:
    value = ctx.value(node)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and not isinstance(value, int)):
        raise ctx.error(node, key, f"expected a {'whole ' if kind is int else ''}number")
    if not low <= value <= high:
        raise ctx.error(node, key, f"expected {low:g} to {high:g}, got {value}")
    return kind(value)


def _limits_section(config: SiteConfig, node: yaml.Node, ctx: YamlContext) -> SiteConfig:
    values: dict[str, Any] = {}
    known = [f.name for f in fields(DataLimits)]
    for key, (key_node, value_node) in ctx.mapping(node, "limits").items():
        if key not in known:
            raise ctx.error(key_node, f"limits.{key}", f"unknown key; known keys are {', '.join(known)}")
        values[key] = _number(ctx, value_node, f"limits.{key}", int, 1, 10_000_000)
    return replace(config, limits=DataLimits(**values))


Section = Callable[[SiteConfig, yaml.Node, YamlContext], SiteConfig]

# YAML section name -> parser. Add sources/cache/overrides here.
SECTIONS: dict[str, Section] = {
    "misp": _misp_section,
    "module": _module_section,
    "cache": _cache_section,
    "sources": _sources_section,
    "overrides": _overrides_section,
    "limits": _limits_section,
}
