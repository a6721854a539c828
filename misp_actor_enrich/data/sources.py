"""Source adapters: misp-galaxy files, MITRE ATT&CK's STIX bundle, a MISP instance's own galaxies.

Each adapter fetches (through ``fetch``, or PyMISP for the instance), validates and
returns misp-galaxy documents; nothing here writes to disk. ``refresh`` composes them
over the data in use (``InUse``) and stages the result.

- misp-galaxy: ``{base}/clusters/<name>.json`` and ``{base}/galaxies/<name>.json``; the
  galaxy type must be the one in use for that file name, the version not older.
- ATT&CK: ``intrusion-set`` objects become ``mitre-intrusion-set`` values the way
  misp-galaxy builds that galaxy (``"APT37 - G0067"``, uuid of the STIX id), so the tags match.
- MISP instance: each actor/vocabulary galaxy with its clusters, custom ones included,
  each keeping the instance's exact ``tag_name``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import requests

from ..core.errors import ActorEnrichError, DataError, UnreachableError
from ..core.galaxy import DataLimits, check_document, galaxy_info
from .fetch import Fetched, Limits, Progress, display, fetch, join
from .misp_api import connect
from .secrets import Redactor

SOURCE_GALAXY, SOURCE_ATTACK, SOURCE_INSTANCE = "misp-galaxy", "mitre-attack", "misp-instance"
SOURCE_BUNDLED = "bundled"
VOCABULARY_GALAXIES = ("target-information", "sector", "region")
ATTACK_TYPE = "mitre-intrusion-set"
_STIX_ID = re.compile(r"^intrusion-set--([0-9a-fA-F-]{36})$")


@dataclass(frozen=True, slots=True)
class InUse:
    """The data an update starts from: the current generation, or the bundled copy."""

    root: Path
    generation: str | None                           # None: bundled (or fallback) data
    label: str
    documents: Mapping[str, Mapping[str, Any]]       # file name (threat-actor) -> cluster document
    definitions: Mapping[str, Mapping[str, Any]]     # file name -> galaxies/<name>.json
    manifest: Mapping[str, Any] = field(default_factory=dict)

    def entry(self, relpath: str) -> Mapping[str, Any]:
        files = self.manifest.get("files")
        found = files.get(relpath) if isinstance(files, Mapping) else None
        return found if isinstance(found, Mapping) else {}

    def source_of(self, relpath: str) -> str:
        return str(self.entry(relpath).get("source") or SOURCE_BUNDLED)

    def validators(self, relpath: str, url: str) -> dict[str, str]:
        """The HTTP validators recorded for ``relpath``, if it was fetched from ``url``."""
        entry = self.entry(relpath)
        if entry.get("url") != display(url):
            return {}
        return {k: str(entry[k]) for k in ("etag", "last_modified") if entry.get(k)}

    def type_of(self, name: str) -> str | None:
        document = self.documents.get(name)
        gtype = document.get("type") if document is not None else None
        return gtype if isinstance(gtype, str) else None

    def name_for_type(self, gtype: str) -> str | None:
        return next((n for n, d in sorted(self.documents.items()) if d.get("type") == gtype), None)

    def version_floor(self, name: str, source: str) -> int | None:
        """The version a new file from ``source`` must not go below (None: no comparable file in use)."""
        document = self.documents.get(name)
        if document is None or self.source_of(f"clusters/{name}.json") not in (source, SOURCE_BUNDLED):
            return None  # the file in use came from elsewhere (the instance): versions are not comparable
        return galaxy_info(document).version


@dataclass(frozen=True, slots=True)
class FileUpdate:
    """A new cluster or definition file from a source, or ``document=None``: unchanged (HTTP 304)."""

    relpath: str                                     # clusters/threat-actor.json or galaxies/threat-actor.json
    source: str
    url: str                                         # without credentials
    document: Mapping[str, Any] | None
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True, slots=True)
class Problem:
    """Why one source or file could not be used."""

    source: str
    what: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}: {self.what}: {self.message}"


@dataclass(frozen=True, slots=True)
class SourceResult:
    files: tuple[FileUpdate, ...] = ()
    problems: tuple[Problem, ...] = ()
    notes: tuple[str, ...] = ()


# --- misp-galaxy ------------------------------------------------------------------------


def from_misp_galaxy(base: str, names: Sequence[str], in_use: InUse, limits: Limits, *, force: bool = False,
                     progress: Progress | None = None) -> SourceResult:
    """Fetch and check ``clusters/<name>.json`` + ``galaxies/<name>.json`` for each name from ``base``."""
    files: list[FileUpdate] = []
    problems: list[Problem] = []
    with requests.Session() as http:
        for n, name in enumerate(names):
            try:
                files.extend(_galaxy_pair(http, base, name, in_use, limits, force, progress))
            except UnreachableError as exc:     # every other file lives on the same host: do not wait for each
                left = f"; the other {len(names) - n - 1} galaxies were not tried" if n + 1 < len(names) else ""
                problems.append(Problem(SOURCE_GALAXY, f"{name}.json", f"{exc}{left}"))
                break
            except ActorEnrichError as exc:
                problems.append(Problem(SOURCE_GALAXY, f"{name}.json", str(exc)))
    return SourceResult(tuple(files), tuple(problems))


def _galaxy_pair(http: requests.Session, base: str, name: str, in_use: InUse, limits: Limits, force: bool,
                 progress: Progress | None) -> list[FileUpdate]:
    pair = []
    for relpath in (f"galaxies/{name}.json", f"clusters/{name}.json"):
        url = join(base, relpath)
        got = fetch(url, limits, validators=in_use.validators(relpath, url), progress=progress, session=http)
        pair.append(FileUpdate(relpath, SOURCE_GALAXY, got.url, _json(got), got.etag, got.last_modified))
    definition, cluster = pair
    expected = in_use.type_of(name)
    if definition.document is not None:
        expected = check_definition(definition.document, expected, where=definition.url)
    if cluster.document is not None:
        check_cluster_document(cluster.document, expected, in_use.version_floor(name, SOURCE_GALAXY), force=force,
                               where=cluster.url, limits=limits.data)
    return pair


def _json(got: Fetched) -> Mapping[str, Any] | None:
    if got.status == "not-modified" or got.body is None:
        return None
    try:
        document = json.loads(got.body)
    except ValueError as exc:
        detail = f"{exc.msg} at line {exc.lineno}" if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise DataError(f"not valid JSON: {detail}", field=got.url) from None
    except RecursionError:
        raise DataError("not galaxy data: JSON nested too deep", field=got.url) from None
    if not isinstance(document, dict):
        raise DataError(f"expected a JSON object, got {type(document).__name__}", field=got.url)
    return document


def check_definition(document: Mapping[str, Any], expected_type: str | None, *, where: str) -> str:
    """A galaxies/*.json definition: an object with the expected ``type``. Returns the type."""
    gtype = document.get("type")
    if not isinstance(gtype, str) or not gtype or not isinstance(document.get("name"), str):
        raise DataError("not a misp-galaxy galaxy definition: no 'type' or 'name'", field=where)
    if expected_type is not None and gtype != expected_type:
        raise DataError(f"galaxy type is {gtype!r}, expected {expected_type!r}", field=where)
    return gtype


def check_cluster_document(document: Mapping[str, Any], expected_type: str | None, version_floor: int | None, *,
                           force: bool, where: str, limits: DataLimits | None = None) -> None:
    """Shape (values with value + uuid), limits and unique uuids, galaxy type, and a version not older
    than the one in use."""
    values = document.get("values")
    if not isinstance(values, list) or not values:
        raise DataError("not a misp-galaxy cluster file: no 'values' list", field=where)
    bad = [i for i, v in enumerate(values)
           if not isinstance(v, Mapping) or not isinstance(v.get("value"), str) or not isinstance(v.get("uuid"), str)]
    if 2 * len(bad) > len(values):  # a stray broken entry is skipped at load time (galaxy.py); most broken: not ours
        raise DataError(f"{len(bad)} of {len(values)} values lack a 'value' or 'uuid' (first at index {bad[0]})",
                        field=where)
    gtype = document.get("type")
    if not isinstance(gtype, str) or not gtype:
        raise DataError("not a misp-galaxy cluster file: no 'type'", field=where)
    if expected_type is not None and gtype != expected_type:
        raise DataError(f"galaxy type is {gtype!r}, expected {expected_type!r}", field=where)
    check = check_document(document, limits)
    if check.refusals:
        raise DataError("; ".join(check.refusals), field=where)
    version = document.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise DataError(f"'version' is not a whole number: {version!r}", field=where)
    if version_floor is not None and version < version_floor and not force:
        raise DataError(f"version {version} is older than the version in use ({version_floor}); "
                        "--force accepts it", field=where)


# --- MITRE ATT&CK -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AttackGroups:
    """The intrusion sets of one ATT&CK bundle, as misp-galaxy values."""

    values: tuple[Mapping[str, Any], ...]
    version: str | None                              # the collection's x_mitre_version (15.1)
    url: str
    etag: str | None = None
    last_modified: str | None = None


def fetch_attack(location: str, previous: Mapping[str, Any], limits: Limits, *, force: bool = False,
                 progress: Progress | None = None) -> AttackGroups | None:
    """ATT&CK's groups from ``location``; None when unchanged since ``previous`` (HTTP 304)."""
    validators = {k: str(previous[k]) for k in ("etag", "last_modified") if previous.get(k)} \
        if previous.get("url") == display(location) else {}
    got = fetch(location, limits, validators=validators, progress=progress)
    bundle = _json(got)
    if bundle is None:
        return None
    values, version = attack_groups(bundle, where=got.url)
    floor = previous.get("version")
    if isinstance(floor, str) and version is not None and _dotted(version) < _dotted(floor) and not force:
        raise DataError(f"ATT&CK version {version} is older than the version in use ({floor}); --force accepts it",
                        field=got.url)
    return AttackGroups(values, version, got.url, got.etag, got.last_modified)


def attack_groups(bundle: Mapping[str, Any], *,
                  where: str = "ATT&CK bundle") -> tuple[tuple[dict[str, Any], ...], str | None]:
    """misp-galaxy ``mitre-intrusion-set`` values from a STIX bundle; revoked and deprecated groups skipped."""
    objects = bundle.get("objects")
    if bundle.get("type") != "bundle" or not isinstance(objects, list):
        raise DataError("not a STIX bundle: no type 'bundle' with an 'objects' list", field=where)
    version = next((str(o["x_mitre_version"]) for o in objects if isinstance(o, Mapping)
                    and o.get("type") == "x-mitre-collection" and o.get("x_mitre_version")), None)
    values = []
    for obj in objects:
        if not isinstance(obj, Mapping) or obj.get("type") != "intrusion-set":
            continue
        match = _STIX_ID.match(str(obj.get("id", "")))
        name = obj.get("name")
        if obj.get("revoked") or obj.get("x_mitre_deprecated") or match is None or not isinstance(name, str):
            continue
        refs = [r for r in obj.get("external_references") or () if isinstance(r, Mapping)]
        attack_ref = next((r for r in refs if r.get("source_name") == "mitre-attack" and r.get("external_id")), None)
        if attack_ref is None:
            continue
        gid = str(attack_ref["external_id"])
        aliases = [a for a in obj.get("aliases") or () if isinstance(a, str) and a.strip() and a != name]
        urls = [str(r["url"]) for r in [attack_ref, *refs] if isinstance(r.get("url"), str)]
        values.append({
            "value": f"{name} - {gid}",
            "uuid": match.group(1).lower(),
            "description": str(obj.get("description") or "").strip(),
            "meta": {"external_id": [gid], "refs": list(dict.fromkeys(urls)), "synonyms": [name, *aliases]},
        })
    if not values:
        raise DataError("the bundle has no usable intrusion-set objects", field=where)
    return tuple(sorted(values, key=lambda v: str(v["value"]).casefold())), version


@dataclass(frozen=True, slots=True)
class MergeCounts:
    updated: int = 0
    added: int = 0
    left_out: int = 0                                # new groups not added (the instance has no cluster for them)


def merge_attack(document: Mapping[str, Any], groups: Iterable[Mapping[str, Any]], *,
                 add_new: bool = True) -> tuple[dict[str, Any], MergeCounts]:
    """``document`` (a mitre-intrusion-set cluster file) with ATT&CK's groups merged in, by uuid.

    A cluster's ``value`` is never changed (it is the tag MISP knows); a new ATT&CK
    name becomes a synonym. Synonyms and refs are unioned, the description follows
    ATT&CK. The version is not bumped: the manifest records that ATT&CK contributed.
    """
    values = [dict(v) for v in document.get("values") or ()]
    by_uuid = {str(v.get("uuid", "")).lower(): v for v in values}
    updated = added = left_out = 0
    for group in groups:
        existing = by_uuid.get(str(group["uuid"]))
        if existing is None:
            if add_new:
                values.append(dict(group))
                added += 1
            else:
                left_out += 1
            continue
        meta = dict(existing.get("meta") or {})
        new_meta = group.get("meta") or {}
        before = (json.dumps(meta, sort_keys=True), existing.get("description"))
        for key in ("synonyms", "refs", "external_id"):
            have = _as_list(meta.get(key))
            extra = [x for x in _as_list(new_meta.get(key)) if x not in have and x != existing.get("value")]
            if extra:
                meta[key] = [*have, *extra]
        existing["meta"] = meta
        if group.get("description"):
            existing["description"] = group["description"]
        updated += before != (json.dumps(meta, sort_keys=True), existing.get("description"))
    return {**document, "values": values}, MergeCounts(updated, added, left_out)


def _as_list(raw: Any) -> list[Any]:
    if raw is None:
        return []
    return list(raw) if isinstance(raw, (list, tuple)) else [raw]


def _dotted(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", version))


# --- the MISP instance ----------------------------------------------------------------------


def connect_instance(url: str, key: str, ssl: bool | str, timeout: float) -> Any:
    """A PyMISP client; errors (unreachable, key refused: ``misp_api.diagnose``) never carry the key."""
    try:
        return connect(url, key, ssl, timeout)
    except ActorEnrichError as exc:
        raise DataError(exc.message, field=exc.field) from None
    except Exception as exc:  # PyMISP raises many kinds; the boundary reports them all the same way
        raise DataError(f"cannot reach MISP: {_redact(exc, key)}", field=display(url)) from None


def from_instance(misp: Any, url: str, wanted_types: Iterable[str], in_use: InUse, *, key: str = "") -> SourceResult:
    """The instance's galaxies of ``wanted_types``, each one cluster document (custom clusters included)."""
    wanted = set(wanted_types)
    try:
        listing = misp.galaxies()
    except Exception as exc:  # PyMISP/requests errors of every kind
        return SourceResult(problems=(Problem(SOURCE_INSTANCE, "galaxies/index", _redact(exc, key)),))
    if not isinstance(listing, list):
        return SourceResult(problems=(Problem(SOURCE_INSTANCE, "galaxies/index", _misp_error(listing)),))
    galaxies = [g.get("Galaxy", g) for g in listing if isinstance(g, Mapping)]
    by_type: dict[str, list[Mapping[str, Any]]] = {}
    for galaxy in galaxies:
        if isinstance(galaxy, Mapping) and galaxy.get("type") in wanted:
            by_type.setdefault(str(galaxy["type"]), []).append(galaxy)
    files: list[FileUpdate] = []
    problems: list[Problem] = []
    for gtype, found in sorted(by_type.items()):
        views = []
        for galaxy in found:
            try:
                view = misp.get_galaxy(galaxy.get("id"), withCluster=True)
            except Exception as exc:  # as above
                problems.append(Problem(SOURCE_INSTANCE, f"galaxies/view/{galaxy.get('id')}", _redact(exc, key)))
                continue
            if not isinstance(view, Mapping) or "errors" in view or not isinstance(view.get("Galaxy"), Mapping):
                problems.append(Problem(SOURCE_INSTANCE, f"galaxies/view/{galaxy.get('id')}", _misp_error(view)))
                continue
            views.append(view)
        if len(views) != len(found):
            continue
        name = in_use.name_for_type(gtype) or gtype
        definition, document = document_from_views(views, base=in_use.documents.get(name), source_url=url)
        where = f"{display(url).rstrip('/')}/galaxies/view/{found[0].get('id')}"
        files.append(FileUpdate(f"galaxies/{name}.json", SOURCE_INSTANCE, where, definition))
        files.append(FileUpdate(f"clusters/{name}.json", SOURCE_INSTANCE, where, document))
    missing = sorted(t for t in wanted - set(by_type) if in_use.name_for_type(t))
    notes = (f"the instance has no {', '.join(missing)} galaxy; those files come from the other sources",) \
        if missing else ()
    return SourceResult(tuple(files), tuple(problems), notes)


def document_from_views(views: Sequence[Mapping[str, Any]], *, base: Mapping[str, Any] | None,
                        source_url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """MISP's ``galaxies/view`` answers (one galaxy type) -> a galaxies/ definition and a cluster document.

    ``base`` is the misp-galaxy document in use for the type: it supplies the
    category (MISP does not store it) and ``related`` links, which ``galaxies/view``
    does not return.
    """
    galaxy = views[0]["Galaxy"]
    related = {str(v.get("uuid", "")).lower(): v["related"] for v in (base or {}).get("values") or ()
               if isinstance(v, Mapping) and v.get("related")}
    values: dict[str, dict[str, Any]] = {}
    default_versions: list[int] = []
    for view in views:
        clusters = view.get("GalaxyCluster", view["Galaxy"].get("GalaxyCluster")) or []
        for cluster in clusters if isinstance(clusters, list) else []:
            entry = _cluster_entry(cluster, related)
            if entry is not None:
                values.setdefault(entry["uuid"], entry)
                if _flag(cluster.get("default")) and str(cluster.get("version", "")).isdigit():
                    default_versions.append(int(cluster["version"]))
    gtype = str(galaxy["type"])
    category = (base or {}).get("category")         # MISP does not store it; is_actor_galaxy needs it
    if not isinstance(category, str):
        category = gtype if gtype in VOCABULARY_GALAXIES else "actor"
    version = max(default_versions, default=0)       # the misp-galaxy release the instance loaded
    definition = {
        "description": str(galaxy.get("description") or ""), "icon": str(galaxy.get("icon") or ""),
        "name": str(galaxy.get("name") or gtype), "namespace": str(galaxy.get("namespace") or "misp"),
        "type": gtype, "uuid": str(galaxy.get("uuid") or ""),
        "version": int(galaxy["version"]) if str(galaxy.get("version", "")).isdigit() else 0,
    }
    document = {
        "authors": ["MISP instance"], "category": category, "description": str(galaxy.get("description") or ""),
        "name": str(galaxy.get("name") or gtype), "source": f"MISP instance {display(source_url)}",
        "type": gtype, "uuid": str(galaxy.get("uuid") or ""), "version": version,
        "values": sorted(values.values(), key=lambda v: (str(v["value"]).casefold(), v["uuid"])),
    }
    return definition, document


def _cluster_entry(cluster: Any, related: Mapping[str, Any]) -> dict[str, Any] | None:
    if not isinstance(cluster, Mapping) or _flag(cluster.get("deleted")):
        return None
    value, uuid = cluster.get("value"), cluster.get("uuid")
    if not isinstance(value, str) or not value.strip() or not isinstance(uuid, str):
        return None
    meta: dict[str, list[str]] = {}
    for element in cluster.get("GalaxyElement") or ():
        if isinstance(element, Mapping) and isinstance(element.get("key"), str) and element.get("value") is not None:
            meta.setdefault(element["key"], []).append(str(element["value"]))
    entry: dict[str, Any] = {"value": value, "uuid": uuid.lower()}
    if cluster.get("description"):
        entry["description"] = str(cluster["description"])
    if meta:
        entry["meta"] = meta
    relations = [{"dest-uuid": str(r["referenced_galaxy_cluster_uuid"]),
                  "type": str(r.get("referenced_galaxy_cluster_type") or "related")}
                 for r in cluster.get("GalaxyClusterRelation") or ()
                 if isinstance(r, Mapping) and r.get("referenced_galaxy_cluster_uuid")]
    if relations or related.get(uuid.lower()):
        entry["related"] = relations or related[uuid.lower()]
    if isinstance(cluster.get("tag_name"), str):
        entry["tag_name"] = cluster["tag_name"]
    return entry


def _flag(value: Any) -> bool:
    return value is True or value == 1 or (isinstance(value, str) and value.lower() in ("1", "true"))


def _misp_error(answer: Any) -> str:
    if isinstance(answer, Mapping):
        errors = answer.get("errors", answer)
        return f"MISP answered with an error: {str(errors)[:300]}"
    return f"unexpected answer from MISP: {type(answer).__name__}"


def _redact(exc: BaseException, key: str) -> str:
    text = Redactor([key])(" ".join(str(exc).split()) or type(exc).__name__)
    return text if len(text) <= 300 else text[:297] + "..."
