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
    """A meta field as a tuple of non-empty strings, whatever shape it came in."""
    if raw is None:
        return ()
    if type(raw) is list and all(type(item) is str for item in raw):    # the usual shape, read fast
        return tuple(text for text in (item.strip() for item in raw) if text)
    if isinstance(raw, (str, int, float)) and not isinstance(raw, bool):
        text = str(raw).strip()
        return (text,) if text else ()
    if isinstance(raw, (list, tuple)):
        return tuple(s for item in raw for s in _strings(item))
    return ()


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
