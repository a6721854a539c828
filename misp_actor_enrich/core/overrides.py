"""Site overrides: what a site knows that no public galaxy does, read from one YAML file.

    aliases:                          # extra names for an actor (cluster value, name or uuid)
      APT37: [Reaper Team KR, "Our APT37"]
    ignore:                           # names that must stop matching
      - Group 123                     # for every actor
      - {name: Lazarus, actor: Lazarus Group}   # for one actor only
    pins:                             # what an ambiguous name means here
      Andariel: Silent Chollima
    actors:                           # private actors: answered with objects; tags only through same_as
      - name: SITE-APT-1
        aliases: [Blue Heron]
        description: Seen only against our sector.
        same_as: 5f0e6c1a-...         # optional: the (custom) cluster it is on the instance
        targeting: {countries: [Germany], sectors: [Energy]}
    targeting:                        # extra known targeting for an actor
      APT37: {countries: [Germany], sectors: [Energy], incident_types: [Espionage]}

``data.overrides_file`` reads the YAML strictly (unknown keys, wrong types: errors
naming file, line and key). Applying is pure: extra names and targeting become
clusters of a pseudo galaxy ``site-overrides`` linked to the actor they describe
(never tagged: MISP has no such galaxy); ignores and pins act on the alias index. References the data does not know
are warnings, not errors: the data changes under the file.
"""

from __future__ import annotations

import difflib
import uuid as uuid_module
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

from .models import SITE_GALAXY, Cluster, Relation
from .names import normalise
from .vocabulary import Vocabulary

# targeting keys in the file -> the galaxy meta fields targeting already reads
TARGETING_FIELDS = {
    "countries": "cfr-suspected-victims",
    "sectors": "targeted-sector",
    "incident_types": "cfr-type-of-incident",
    "sponsor": "cfr-suspected-state-sponsor",
    "origin": "country",
    "motives": "motive",
}
_NAMESPACE = uuid_module.UUID("6f1d6a52-3b3c-4f7e-9a55-1c0de0a7e001")  # stable ids for site clusters


@dataclass(frozen=True, slots=True)
class PrivateActor:
    name: str
    aliases: tuple[str, ...] = ()
    description: str = ""
    same_as: str | None = None
    targeting: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SiteOverrides:
    path: Path | None = None
    aliases: Mapping[str, tuple[str, ...]] = field(default_factory=dict)       # actor ref -> names
    ignore: tuple[tuple[str, str | None], ...] = ()                            # (name, actor ref or None)
    pins: Mapping[str, str] = field(default_factory=dict)                      # name -> actor ref
    actors: tuple[PrivateActor, ...] = ()
    targeting: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.aliases or self.ignore or self.pins or self.actors or self.targeting)


@dataclass(frozen=True, slots=True)
class Applied:
    """Overrides made concrete against one data set."""

    clusters: tuple[Cluster, ...]                      # site clusters to add before identities are built
    ignore: frozenset[str]                             # normalised names that match nothing
    ignore_for: frozenset[tuple[str, str]]             # (normalised name, cluster uuid of the actor)
    pins: Mapping[str, str]                            # normalised name -> cluster uuid of the actor
    warnings: tuple[str, ...]


def apply(overrides: SiteOverrides, clusters: Iterable[Cluster]) -> Applied:
    """Site clusters, ignores and pins for this data; unknown references become warnings."""
    by_ref: dict[str, Cluster] = {}
    for cluster in clusters:  # first cluster per reference wins: callers pass galaxy order
        for key in (cluster.uuid, cluster.value.casefold(), cluster.name.casefold()):
            by_ref.setdefault(key, cluster)
    warnings: list[str] = []
    where = str(overrides.path) if overrides.path else "overrides"

    def target(ref: str, what: str) -> Cluster | None:
        found = by_ref.get(ref.strip().casefold())
        if found is None:
            warnings.append(f"{where}: {what}: no cluster is named {ref!r} in the data in use; skipped")
        return found

    extra_names: dict[str, list[str]] = {}
    extra_meta: dict[str, dict[str, list[str]]] = {}
    anchors: dict[str, Cluster] = {}
    for ref, names in overrides.aliases.items():
        if (anchor := target(ref, f"aliases.{ref}")) is not None:
            anchors[anchor.uuid] = anchor
            extra_names.setdefault(anchor.uuid, []).extend(names)
    for ref, meta in overrides.targeting.items():
        if (anchor := target(ref, f"targeting.{ref}")) is not None:
            anchors[anchor.uuid] = anchor
            for key, values in meta.items():
                extra_meta.setdefault(anchor.uuid, {}).setdefault(key, []).extend(values)
    site: list[Cluster] = []
    for private in overrides.actors:
        anchor = target(private.same_as, f"actors {private.name!r} same_as") if private.same_as else None
        if anchor is not None:  # the same actor as an existing cluster: one site cluster holds it all
            anchors[anchor.uuid] = anchor
            extra_names.setdefault(anchor.uuid, []).extend((private.name, *private.aliases))
            for key, values in private.targeting.items():
                extra_meta.setdefault(anchor.uuid, {}).setdefault(key, []).extend(values)
        elif not private.same_as:
            site.append(_site_cluster(private.name, private.aliases, private.targeting, private.description, None))
    for anchor_uuid, anchored in anchors.items():
        meta = {k: tuple(dict.fromkeys(v)) for k, v in extra_meta.get(anchor_uuid, {}).items()}
        site.append(_site_cluster(anchored.value, tuple(extra_names.get(anchor_uuid, ())), meta, "", anchor_uuid))

    ignore: set[str] = set()
    ignore_for: set[tuple[str, str]] = set()
    for name, scope in overrides.ignore:
        if scope is None:
            ignore.add(normalise(name))
        elif (anchor := target(scope, f"ignore {name!r}")) is not None:
            ignore_for.add((normalise(name), anchor.uuid))
    pins: dict[str, str] = {}
    private_by_name = {c.value.casefold(): c for c in site if not c.related}
    for name, ref in overrides.pins.items():
        anchor = private_by_name.get(ref.casefold()) or target(ref, f"pins.{name}")
        if anchor is not None:
            pins[normalise(name)] = anchor.uuid
    return Applied(tuple(site), frozenset(ignore), frozenset(ignore_for), pins, tuple(warnings))


def _site_cluster(value: str, names: tuple[str, ...], meta: Mapping[str, tuple[str, ...]], description: str,
                  same_as: str | None) -> Cluster:
    key = same_as or f"private:{value.casefold()}"
    synonyms = tuple(n for n in dict.fromkeys(names) if n != value)
    return Cluster(
        galaxy=SITE_GALAXY,
        uuid=str(uuid_module.uuid5(_NAMESPACE, key)),
        value=value,
        synonyms=synonyms,
        description=description,
        meta={**meta, **({"synonyms": synonyms} if synonyms else {})},
        refs=(),
        related=(Relation(same_as, "same-as"),) if same_as else (),
    )


# Targeting keys whose values must be vocabulary terms; a typo would otherwise become an untagged
# sector or, for countries, a named victim organisation. Incident types and motives are free text.
_CHECKED_TARGETING = {"countries": "country or region", "sectors": "sector", "sponsor": "country", "origin": "country"}


def unknown_values(overrides: SiteOverrides, vocabulary: Vocabulary) -> tuple[str, ...]:
    """Errors for targeting values no vocabulary galaxy knows, each naming the file, key, value and close matches."""
    where = str(overrides.path) if overrides.path else "overrides"
    field_names = {meta: key for key, meta in TARGETING_FIELDS.items()}
    blocks = [(f"targeting.{ref}", meta) for ref, meta in overrides.targeting.items()]
    blocks += [(f"actors[{i}].targeting", a.targeting) for i, a in enumerate(overrides.actors)]
    errors: list[str] = []
    for prefix, meta in blocks:
        for meta_key, values in meta.items():
            key = field_names.get(meta_key, meta_key)
            what = _CHECKED_TARGETING.get(key)
            if what is None:
                continue
            for value in values:
                if (vocabulary.sector(value) if key == "sectors" else vocabulary.place(value)) is None:
                    errors.append(f"{where}: {prefix}.{key}: unknown {what} {value!r}{_close(value, key, vocabulary)}")
    return tuple(errors)


def _close(value: str, key: str, vocabulary: Vocabulary) -> str:
    if key == "sectors":
        entries, source = vocabulary.sectors, "the sector galaxy's values and synonyms"
    else:
        entries = {**vocabulary.countries, **vocabulary.regions}
        source = "target-information's country names, synonyms and ISO codes, or a region"
    keys = difflib.get_close_matches(value.casefold(), list(entries), n=3, cutoff=0.75)
    hints = list(dict.fromkeys(entries[k].value for k in keys))
    guess = f"; did you mean {' or '.join(map(repr, hints))}?" if hints else ""
    return f"{guess} (valid: {source})"
