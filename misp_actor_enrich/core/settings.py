"""Settings: the module's configuration, parsed once from misp-modules config strings.

MISP sends every declared key on every query: ``null`` when the admin never set it,
a string otherwise, ``""`` when cleared, and ``{"_": "_"}`` from attach-enrichment
when a module has no config. ``Settings.from_module_config`` turns that into one
validated dataclass, applying defaults in one place.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, fields
from typing import Any, Iterable, Mapping

from .errors import ConfigError

# The keys MISP shows in Server Settings as Plugin.Enrichment_actor_enrich_<key>.
MODULE_CONFIG: tuple[str, ...] = (
    "galaxy_types",
    "tag_ambiguous",
    "suggestions",
    "tag_suggestions_above",
    "include_aliases_as_attributes",
    "max_links",
    "detail",
)

_TRUE = {"1", "true", "yes", "on", "y", "t"}
_FALSE = {"0", "false", "no", "off", "n", "f"}
MAX_LINKS_CEILING = 50
DETAIL_LEVELS = ("summary", "full")


@dataclass(frozen=True, slots=True)
class Settings:
    """Behaviour switches; the defaults are what an analyst should get untouched.

    galaxy_types: galaxies whose tags are attached (None: every actor galaxy loaded).
    tag_ambiguous: tag every candidate of an ambiguous name instead of none.
    suggestions: report near-miss suggestions for unknown names.
    tag_suggestions_above: tag the best suggestion when its score is at least this (None: never).
    include_aliases_as_attributes: add each alias as a threat-actor attribute, so that
        events naming the actor differently correlate.
    max_links: at most this many reference links.
    detail: "summary" (the actor, its clusters, its best-attested names and targets: at most
        50 attributes per answer) or "full" (everything the galaxies say, within a hard bound).
    """

    galaxy_types: tuple[str, ...] | None = None
    tag_ambiguous: bool = False
    suggestions: bool = True
    tag_suggestions_above: float | None = None
    include_aliases_as_attributes: bool = False
    max_links: int = 3
    detail: str = "summary"

    @classmethod
    def from_module_config(cls, config: Any) -> "Settings":
        """Parse the request's ``config`` value (absent, null, or a dict of null/strings)."""
        if config is None:
            return cls()
        if not isinstance(config, Mapping):
            raise ConfigError(f"must be an object of setting names to strings, not {type(config).__name__}",
                              field="config")
        values: dict[str, Any] = {}
        for key, raw in config.items():
            if key == "_":
                continue  # attach-enrichment's placeholder for "no config"
            if key not in MODULE_CONFIG:
                raise ConfigError(f"unknown setting; known settings are {', '.join(MODULE_CONFIG)}",
                                  field=f"config.{key}")
            if raw is None or (isinstance(raw, str) and not raw.strip()):
                continue
            values[key] = _parse(key, raw)
        return cls(**values)

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _parse(key: str, raw: Any) -> Any:
    where = f"config.{key}"
    if isinstance(raw, bool):
        raw = "1" if raw else "0"
    if isinstance(raw, (int, float)):
        raw = str(raw)
    if not isinstance(raw, str):
        raise ConfigError(f"must be a string, not {type(raw).__name__}", field=where)
    text = raw.strip()
    if key == "galaxy_types":
        types = tuple(dict.fromkeys(t.strip() for t in text.split(",") if t.strip()))
        bad = [t for t in types if not all(ch.isalnum() or ch in "-_" for ch in t)]
        if bad or not types:
            raise ConfigError(f"expected comma-separated galaxy types such as 'threat-actor,mitre-intrusion-set', got {raw!r}",
                              field=where)
        return types
    if key in {"tag_ambiguous", "suggestions", "include_aliases_as_attributes"}:
        lowered = text.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ConfigError(f"expected a boolean (1/0, true/false, yes/no), got {raw!r}", field=where)
    if key == "tag_suggestions_above":
        try:
            score = float(text)
        except ValueError:
            raise ConfigError(f"expected a score between 0 and 1, got {raw!r}", field=where) from None
        if not 0.0 <= score <= 1.0:
            raise ConfigError(f"expected a score between 0 and 1, got {raw!r}", field=where)
        return score
    if key == "max_links":
        try:
            count = int(text)
        except ValueError:
            raise ConfigError(f"expected a whole number, got {raw!r}", field=where) from None
        if not 0 <= count <= MAX_LINKS_CEILING:
            raise ConfigError(f"expected 0 to {MAX_LINKS_CEILING}, got {raw!r}", field=where)
        return count
    if key == "detail":
        lowered = text.lower()
        if lowered not in DETAIL_LEVELS:
            raise ConfigError(f"expected {' or '.join(DETAIL_LEVELS)}, got {raw!r}", field=where)
        return lowered
    raise ConfigError("unknown setting", field=where)  # unreachable: keys checked by the caller


def check_galaxy_types(settings: Settings, available: Iterable[str], *, field: str = "config.galaxy_types") -> None:
    """Refuse galaxy types the data does not have: a typo would tag nothing at all, silently.

    Checked per query against the data in use (it can change under a running module).
    """
    if settings.galaxy_types is None:
        return
    known = sorted(set(available))
    bad = [t for t in settings.galaxy_types if t not in known]
    if not bad:
        return
    hints = [h for t in bad for h in difflib.get_close_matches(t, known, n=1)]
    guess = f" (did you mean {', '.join(map(repr, hints))}?)" if hints else ""
    raise ConfigError(f"unknown galaxy type{'s' * (len(bad) > 1)} {', '.join(map(repr, bad))}{guess}; the actor "
                      f"galaxies in the data in use are {', '.join(known)}", field=field)
