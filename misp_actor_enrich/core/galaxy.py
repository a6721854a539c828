"""misp-galaxy cluster JSON -> ``Cluster`` records, coping with the data as it is.

The data has meta fields that are a string in one cluster and a list in the next,
synonyms that repeat (or repeat the value), names in scripts that normalise to
nothing, revoked clusters and deprecated galaxies. This module is pure: it takes
already-parsed JSON and returns frozen records; ``store`` does the reading.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from .errors import DataError
from .models import RANSOMWARE_GALAXY, Cluster, Relation
from .names import clean, normalise

# MISP files ransomware operations (LockBit, Akira, play) in this galaxy, not in threat-actor; it is
# a "tool" galaxy that also lists older malware families, so ``core.ransomware`` reads it apart.
RANSOMWARE = RANSOMWARE_GALAXY
# Galaxies that name threat groups, in the order their clusters name an actor; ransomware last.
DEFAULT_GALAXIES: tuple[str, ...] = (
    "threat-actor",
    "mitre-intrusion-set",
    "microsoft-activity-group",
    "360net-threat-actor",
    "mitre-ics-groups",
    "groups",  # Tidal Cyber's groups galaxy (category "Threat Groups")
    RANSOMWARE,
)
# Category-"actor" galaxies that name something other than threat groups.
NOT_GROUPS = frozenset({"entity", "nato", "producer", "surveillance-vendor"})

ATTACK_ID = re.compile(r"^G\d{4}$")
# A MISP galaxy tag as an instance exports it with a cluster (RE_GALAXY in MISP's Tag model).
_TAG_NAME = re.compile(r'^misp-galaxy:[^:="]+="[^:="]+"$')
# Some galaxies retire a cluster only by renaming it: Tidal's "APT42 (Deprecated)".
_MARKED_DEPRECATED = re.compile(r"\((?:deprecated|revoked)\)\s*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class GalaxyInfo:
    """A cluster file's header: what galaxy it is and which version."""

    type: str
    name: str
    category: str
    version: int
    uuid: str
    deprecated: bool


def galaxy_info(document: Mapping[str, Any], galaxy_definition: Mapping[str, Any] | None = None) -> GalaxyInfo:
    """Read a cluster file's header; ``galaxy_definition`` is the matching galaxies/*.json."""
    if not isinstance(document, Mapping) or not isinstance(document.get("values"), list):
        raise DataError("not a misp-galaxy cluster file: no 'values' list")
    gtype = document.get("type")
    if not isinstance(gtype, str) or not gtype:
        raise DataError("not a misp-galaxy cluster file: no 'type'")
    definition = galaxy_definition or {}
    deprecated = bool(document.get("deprecated")) or definition.get("namespace") == "deprecated"
    try:
        version = int(document.get("version") or 0)
    except (TypeError, ValueError):
        version = 0
    return GalaxyInfo(
        type=gtype,
        name=str(document.get("name") or gtype),
        category=str(document.get("category") or ""),
        version=version,
        uuid=str(document.get("uuid") or ""),
        deprecated=deprecated or bool(definition.get("deprecated")),
    )


def is_actor_galaxy(info: GalaxyInfo) -> bool:
    """True for galaxies that name threat groups (category actor, minus non-group galaxies, plus ransomware)."""
    if info.type in DEFAULT_GALAXIES:
        return True
    return info.category.casefold() in {"actor", "threat groups"} and info.type not in NOT_GROUPS


def clusters_from_document(document: Mapping[str, Any]) -> tuple[Cluster, ...]:
    """Every well-formed cluster of a cluster file; malformed entries are skipped.

    Skipping is deliberate: one broken entry upstream must not take the other
    thousand actors offline. ``skipped_entries`` counts them for reports.
    """
    gtype = str(document["type"])
    out: list[Cluster] = []
    seen: set[str] = set()
    for entry in document.get("values") or ():
        cluster = cluster_from_entry(gtype, entry)
        if cluster is not None and cluster.uuid not in seen:
            seen.add(cluster.uuid)
            out.append(cluster)
    return tuple(out)


def skipped_entries(document: Mapping[str, Any]) -> int:
    values = document.get("values") or ()
    return sum(1 for e in values if cluster_from_entry(str(document.get("type")), e) is None)


def cluster_from_entry(galaxy: str, entry: Any) -> Cluster | None:
    if not isinstance(entry, Mapping):
        return None
    value = entry.get("value")
    uuid = entry.get("uuid")
    if not isinstance(value, str) or not isinstance(uuid, str) or not clean(value):
        return None
    raw_meta = entry.get("meta") if isinstance(entry.get("meta"), Mapping) else {}
    assert isinstance(raw_meta, Mapping)
    meta = {str(k): _strings(v) for k, v in raw_meta.items()}
    meta = {k: v for k, v in meta.items() if v}
    value = clean(value)
    synonyms = _distinct_names(value, meta.get("synonyms", ()))
    refs = tuple(dict.fromkeys(meta.get("refs", ())))
    related = tuple(
        Relation(dest_uuid=str(r["dest-uuid"]), type=str(r.get("type") or "related"))
        for r in entry.get("related") or ()
        if isinstance(r, Mapping) and isinstance(r.get("dest-uuid"), str)
    )
    description = entry.get("description")
    tag_name = entry.get("tag_name")
    return Cluster(
        galaxy=galaxy,
        uuid=uuid.lower(),
        value=value,
        synonyms=synonyms,
        description=description.strip() if isinstance(description, str) else "",
        meta=meta,
        refs=refs,
        related=related,
        deprecated=bool(entry.get("revoked")) or bool(entry.get("deprecated")) or bool(_MARKED_DEPRECATED.search(value)),
        tag_name=tag_name if isinstance(tag_name, str) and _TAG_NAME.match(tag_name) else None,
    )


def _strings(raw: Any) -> tuple[str, ...]:
    """A meta field as a tuple of non-empty strings, whatever shape it came in.

    Lists may nest (a few galaxies write [[...]]); deeper than a few levels is not data, and walking
    it iteratively means hostile nesting cannot exhaust the stack.
    """
    if type(raw) is list and all(type(item) is str for item in raw):    # the usual shape, read fast
        return tuple(text for text in (item.strip() for item in raw) if text)
    out: list[str] = []
    stack: list[tuple[Any, int]] = [(raw, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (str, int, float)) and not isinstance(item, bool):
            text = str(item).strip()
            if text:
                out.append(text)
        elif isinstance(item, (list, tuple)) and depth < _MAX_META_DEPTH:
            stack.extend((inner, depth + 1) for inner in reversed(item))
    return tuple(out)


_MAX_META_DEPTH = 3


def _distinct_names(value: str, synonyms: Iterable[str]) -> tuple[str, ...]:
    """Synonyms without repeats or the value itself; names with no letters/digits dropped."""
    seen = {value}
    out: list[str] = []
    for raw in synonyms:
        name = clean(raw)
        if name and name not in seen and normalise(name):
            seen.add(name)
            out.append(name)
    return tuple(out)


def attack_ids(cluster: Cluster) -> tuple[str, ...]:
    """ATT&CK group ids (G0067) a cluster states, from ids fields, its value or its synonyms."""
    ids: list[str] = []
    for key in ("external_id", "group_attack_id"):
        ids.extend(v.upper() for v in cluster.meta.get(key, ()) if ATTACK_ID.match(v.upper()))
    suffix = re.search(r"\s-\s(G\d{4})$", cluster.value)
    if suffix:
        ids.append(suffix.group(1))
    ids.extend(s.upper() for s in cluster.synonyms if ATTACK_ID.match(s.upper()))
    return tuple(dict.fromkeys(ids))


@dataclass(frozen=True, slots=True)
class DataLimits:
    """What a galaxy file may hold before it is refused as not-galaxy-data (a broken or hostile source).

    The defaults are about ten times the largest real galaxies read (2,135 ransomware clusters;
    42 names, a 3,808-character description and 444 refs and relations for one cluster), so real
    data never comes near them, and a file past them cannot make a rebuild cost minutes and gigabytes.
    """

    clusters: int = 20_000          # values in one file
    names: int = 500                # value and synonyms of one cluster
    names_total: int = 200_000      # in one file
    description: int = 20_000       # characters of one cluster's description
    links: int = 5_000              # refs and related entries of one cluster


@dataclass(frozen=True, slots=True)
class DocumentCheck:
    refusals: tuple[str, ...]       # the file must not be used
    warnings: tuple[str, ...]       # entries skipped; the rest is usable


def check_document(document: Mapping[str, Any], limits: DataLimits | None = None) -> DocumentCheck:
    """Limits, duplicate uuids and broken entries of a cluster file, said in words.

    A file past a limit or holding one uuid twice is refused whole: duplicates would silently drop
    clusters (which one MISP keeps is not ours to guess), and size past the limits is not galaxy
    data. A broken entry (not an object, no value or uuid) is skipped with a warning: one broken
    entry upstream must not take a thousand actors offline.
    """
    limits = limits or DataLimits()
    values = document.get("values")
    if not isinstance(values, list):
        return DocumentCheck(("no 'values' list",), ())
    refusals: list[str] = []
    if len(values) > limits.clusters:
        refusals.append(f"{len(values)} clusters; at most {limits.clusters} are read from one file")
        return DocumentCheck(tuple(refusals), ())
    broken: list[int] = []
    first_value: dict[str, str] = {}
    names_total = 0
    for i, entry in enumerate(values):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("value"), str) \
                or not isinstance(entry.get("uuid"), str) or not clean(entry["value"]):
            broken.append(i)
            continue
        value, uuid = entry["value"], entry["uuid"].lower()
        if uuid in first_value:
            refusals.append(f"uuid {uuid} is used twice ({first_value[uuid]!r} and {value!r})")
        first_value.setdefault(uuid, value)
        meta = entry.get("meta") if isinstance(entry.get("meta"), Mapping) else {}
        assert isinstance(meta, Mapping)
        synonyms = meta.get("synonyms")
        names = 1 + (len(synonyms) if isinstance(synonyms, list) else 1 if synonyms else 0)
        names_total += names
        if names > limits.names:
            refusals.append(f"{value!r} has {names} names; at most {limits.names}")
        description = entry.get("description")
        if isinstance(description, str) and len(description) > limits.description:
            refusals.append(f"{value!r} has a {len(description)}-character description; at most {limits.description}")
        refs, related = meta.get("refs"), entry.get("related")
        links = (len(refs) if isinstance(refs, list) else 0) + (len(related) if isinstance(related, list) else 0)
        if links > limits.links:
            refusals.append(f"{value!r} has {links} refs and relations; at most {limits.links}")
        if len(refusals) >= 5:
            break
    if names_total > limits.names_total:
        refusals.append(f"{names_total} names in all; at most {limits.names_total} are read from one file")
    warnings: tuple[str, ...] = ()
    if broken:
        warnings = (f"{len(broken)} broken entr{'y' if len(broken) == 1 else 'ies'} skipped (not an object, or no "
                    f"value or uuid), first at index {broken[0]}",)
    return DocumentCheck(tuple(refusals), warnings)
