"""The update: fetch every configured source, validate, stage, prove it loads, then commit.

All or nothing: the sources are fetched and checked first; if any file fails, nothing
is written and ``current`` keeps pointing at the last good generation. Otherwise the
composed files are written into a staging folder, ``store.load_knowledge`` must
build from it, and only then ``Cache.commit`` swaps it in. When every file comes out
byte-identical to the generation in use (304s, same content), no generation is made.

Composition order per galaxy file: the data in use, then misp-galaxy, then the MISP
instance (which replaces a galaxy type wholesale, so every tag exists there), then
ATT&CK merged into ``mitre-intrusion-set`` (new groups only when that file is not the
instance's).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, Mapping

from ..core.errors import ActorEnrichError, ConfigError, DataError
from ..core.galaxy import (
    DEFAULT_GALAXIES,
    GalaxyInfo,
    clusters_from_document,
    galaxy_info,
    is_actor_galaxy,
)
from .cache import Cache, Generation, default_cache_dir, write_json_atomic
from .fetch import Limits, Progress, location_kind
from .misp_api import quiet_pymisp
from .site_config import SiteConfig
from .sources import (
    ATTACK_TYPE,
    SOURCE_ATTACK,
    SOURCE_BUNDLED,
    SOURCE_GALAXY,
    SOURCE_INSTANCE,
    VOCABULARY_GALAXIES,
    FileUpdate,
    InUse,
    Problem,
    SourceResult,
    connect_instance,
    fetch_attack,
    from_instance,
    from_misp_galaxy,
    merge_attack,
)
from .store import (
    bundled_data_dir,
    bundled_date,
    bundled_label,
    bundled_manifest,
    galaxy_file,
    load_galaxies,
    load_knowledge,
    read_json,
)

ATTACK_EXTRACT = "attack/intrusion-sets.json"
LAST_CHECK = "last-check.json"
EXAMPLES = 5
_DAY = 86400.0


@dataclass(frozen=True, slots=True)
class GalaxyChanges:
    """What changed in one galaxy, compared by cluster uuid."""

    galaxy: str
    new: tuple[str, ...] = ()
    renamed: tuple[tuple[str, str], ...] = ()
    new_aliases: tuple[tuple[str, tuple[str, ...]], ...] = ()
    removed: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FileOutcome:
    file: str
    source: str
    url: str
    status: Literal["updated", "not-modified"]


@dataclass(frozen=True, slots=True)
class UpdateReport:
    status: Literal["updated", "up-to-date", "failed"]
    generation: str | None                           # in use after the run (None: bundled data)
    previous: str | None
    files: tuple[FileOutcome, ...] = ()
    changes: tuple[GalaxyChanges, ...] = ()
    problems: tuple[Problem, ...] = ()
    notes: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["problems"] = [{**asdict(p), "text": str(p)} for p in self.problems]
        return out


def limits_from(config: SiteConfig, *, insecure: bool = False) -> Limits:
    s = config.sources
    return Limits(timeout=s.timeout, max_bytes=s.max_bytes, retries=s.retries, verify=not insecure, data=config.limits,
                  until=time.monotonic() + s.deadline)


def cache_for(config: SiteConfig) -> Cache:
    return Cache(config.cache.dir or default_cache_dir())


def classify(location: str) -> tuple[str, str]:
    """``--source``: the word ``misp-instance``, a STIX bundle (``*.json``) or a misp-galaxy base."""
    if location == SOURCE_INSTANCE:
        return SOURCE_INSTANCE, ""
    location_kind(location)                          # refuses other schemes
    return (SOURCE_ATTACK if location.lower().split("?")[0].endswith(".json") else SOURCE_GALAXY), location


def update(config: SiteConfig, *, only: str | None = None, force: bool = False, progress: Progress | None = None,
           limits: Limits | None = None, fallback: Path | None = None) -> UpdateReport:
    """Run one update; ``fallback`` is the data to start from when the cache is empty (default: bundled).

    The whole run holds the cache's lock: a second update waits for this one and builds on its data.
    """
    limits = limits or limits_from(config)
    plan = [classify(only)] if only else _configured(config)
    if not plan:
        raise ConfigError("no source configured: set sources.misp_galaxy, sources.mitre_attack or "
                          "sources.misp_instance, or pass --source")
    cache = cache_for(config)
    with cache.lock():
        return _update(config, cache, plan, force, progress, limits, fallback)


def _update(config: SiteConfig, cache: Cache, plan: list[tuple[str, str]], force: bool, progress: Progress | None,
            limits: Limits, fallback: Path | None) -> UpdateReport:
    in_use = load_in_use(cache, config.sources.galaxies, fallback)
    previous = in_use.generation
    docs: dict[str, Mapping[str, Any]] = dict(in_use.documents)
    defs: dict[str, Mapping[str, Any]] = dict(in_use.definitions)
    notes: list[str] = []
    if config.sources.galaxies is None and in_use.generation is not None:
        # A generation made before this release read a galaxy (ransomware): start it from the package's copy.
        for name, (document, definition) in _shipped_missing(in_use).items():
            docs[name] = document
            if definition is not None:
                defs[name] = definition
            notes.append(f"{name}: not in the data in use, added from the data bundled in the package")
    names = list(config.sources.galaxies or sorted(docs))
    entries = {rel: dict(in_use.entry(rel) or {"source": SOURCE_BUNDLED, "url": in_use.label})
               for name in docs for rel in (f"clusters/{name}.json", f"galaxies/{name}.json")}
    sources_meta: dict[str, Any] = dict(in_use.manifest.get("sources") or {})
    outcomes: list[FileOutcome] = []
    problems: list[Problem] = []
    now = time.time()

    def apply(files: tuple[FileUpdate, ...]) -> None:
        for f in files:
            state: Literal["updated", "not-modified"] = "not-modified" if f.document is None else "updated"
            outcomes.append(FileOutcome(f.relpath, f.source, f.url, state))
            if f.document is None:
                continue
            name = Path(f.relpath).stem
            (docs if f.relpath.startswith("clusters/") else defs)[name] = f.document
            entries[f.relpath] = {"source": f.source, "url": f.url, "etag": f.etag,
                                  "last_modified": f.last_modified, "fetched": now}

    # With the instance configured, its galaxies stay its own: upstream files would bring tags it may lack.
    upstream = [n for n in names if not (config.sources.misp_instance
                                         and in_use.source_of(f"clusters/{n}.json") == SOURCE_INSTANCE)]
    attack_at = None
    for kind, location in plan:
        if kind == SOURCE_GALAXY:
            result = from_misp_galaxy(location, upstream, in_use, limits, force=force, progress=progress)
        elif kind == SOURCE_INSTANCE:
            result = _instance(config, in_use, limits)
        else:
            attack_at = location
            continue
        apply(result.files)
        problems.extend(result.problems)
        notes.extend(result.notes)
    extract: Mapping[str, Any] | None = None
    try:
        if attack_at is not None:
            extract = _fetch_attack(attack_at, in_use, sources_meta, limits, force, progress, now)
        elif config.sources.mitre_attack and (in_use.root / ATTACK_EXTRACT).is_file():
            extract = read_json(in_use.root / ATTACK_EXTRACT)   # not fetched this run: keep its groups merged
        if extract is not None:
            notes.extend(_merge_attack(extract, docs, entries))
    except ActorEnrichError as exc:
        problems.append(Problem(SOURCE_ATTACK, "enterprise-attack", str(exc)))
    if extract is None:
        sources_meta.pop(SOURCE_ATTACK, None)
    if problems:
        return UpdateReport("failed", previous, previous, tuple(outcomes), (), tuple(problems), tuple(notes))
    try:
        generation, changed, warnings = _stage_and_commit(cache, in_use, docs, defs, entries, sources_meta, extract,
                                                          now, limits)
        notes.extend(warnings)
    except DataError as exc:
        return UpdateReport("failed", previous, previous, tuple(outcomes), (), (Problem("staging", str(cache.root),
                                                                                        str(exc)),), tuple(notes))
    try:
        _write_last_check(cache, generation.id if generation else previous, now)
    except OSError as exc:      # the new data is in use already: say so, do not report a failure
        notes.append(f"could not record the time of this check ({exc.strerror or exc}); status may call "
                     f"the data stale")
    if not changed:
        return UpdateReport("up-to-date", previous, previous, tuple(outcomes), (), (), tuple(notes))
    changes = tuple(c for name in sorted(docs) if (c := diff_documents(in_use.documents.get(name), docs[name])))
    return UpdateReport("updated", generation.id if generation else None, previous, tuple(outcomes), changes, (),
                        tuple(notes))


def _configured(config: SiteConfig) -> list[tuple[str, str]]:
    s = config.sources
    plan = [(SOURCE_GALAXY, s.misp_galaxy)] if s.misp_galaxy else []
    plan += [(SOURCE_INSTANCE, "")] if s.misp_instance else []
    plan += [(SOURCE_ATTACK, s.mitre_attack)] if s.mitre_attack else []
    return plan


def _instance(config: SiteConfig, in_use: InUse, limits: Limits) -> SourceResult:
    url, key = config.misp.url, config.misp.key
    if not url or not key:
        raise ConfigError("the misp-instance source needs misp.url and an API key (misp.key or MISP_KEY)")
    ssl: bool | str = False if limits.verify is False else \
        str(config.misp.ca_bundle) if config.misp.ca_bundle else config.misp.verify_tls
    wanted = {galaxy_info(d).type for d in in_use.documents.values() if is_actor_galaxy(galaxy_info(d))}
    with quiet_pymisp():                            # PyMISP logs each HTTP error itself; ours go in the report
        try:
            misp = connect_instance(url, key, ssl, limits.timeout)
        except DataError as exc:
            return SourceResult(problems=(Problem(SOURCE_INSTANCE, "connect", str(exc)),))
        return from_instance(misp, url, wanted | set(DEFAULT_GALAXIES) | set(VOCABULARY_GALAXIES), in_use, key=key)


def _fetch_attack(location: str, in_use: InUse, sources_meta: dict[str, Any], limits: Limits, force: bool,
                  progress: Progress | None, now: float) -> Mapping[str, Any]:
    """ATT&CK's groups (``{"version", "values"}``), reusing the recorded ones on HTTP 304."""
    previous = sources_meta.get(SOURCE_ATTACK) or {}
    extract_path = in_use.root / ATTACK_EXTRACT
    if not extract_path.is_file():                  # nothing to fall back on: ask for the body
        previous = {k: v for k, v in previous.items() if k not in ("etag", "last_modified")}
    groups = fetch_attack(location, previous, limits, force=force, progress=progress)
    if groups is None:
        sources_meta[SOURCE_ATTACK] = {**previous, "checked": now}
        extract: Mapping[str, Any] = read_json(extract_path)
        return extract
    sources_meta[SOURCE_ATTACK] = {"url": groups.url, "version": groups.version, "etag": groups.etag,
                                   "last_modified": groups.last_modified, "fetched": now,
                                   "groups": len(groups.values)}
    return {"version": groups.version, "url": groups.url, "values": list(groups.values)}


def _merge_attack(extract: Mapping[str, Any], docs: dict[str, Mapping[str, Any]],
                  entries: dict[str, dict[str, Any]]) -> list[str]:
    values = [v for v in extract.get("values") or () if isinstance(v, Mapping) and "uuid" in v]
    name = next((n for n, d in sorted(docs.items()) if d.get("type") == ATTACK_TYPE), None)
    if name is None:
        return ["ATT&CK groups not merged: no mitre-intrusion-set galaxy in use (add it to sources.galaxies)"]
    relpath = f"clusters/{name}.json"
    # Groups the instance has no cluster for would be tags that attach nothing there.
    from_instance_doc = entries.get(relpath, {}).get("source") == SOURCE_INSTANCE
    docs[name], counts = merge_attack(docs[name], values, add_new=not from_instance_doc)
    entries[relpath] = {**entries.get(relpath, {}), "merged": [SOURCE_ATTACK]}
    version = f" {extract['version']}" if extract.get("version") else ""
    notes = [f"ATT&CK{version}: {len(values)} groups, {counts.updated} clusters updated, {counts.added} added"]
    if counts.left_out:
        notes.append(f"{counts.left_out} ATT&CK groups have no cluster on the MISP instance and were not added")
    return notes


def _stage_and_commit(cache: Cache, in_use: InUse, docs: Mapping[str, Mapping[str, Any]],
                      defs: Mapping[str, Mapping[str, Any]], entries: Mapping[str, dict[str, Any]],
                      sources_meta: Mapping[str, Any], extract: Mapping[str, Any] | None,
                      now: float, limits: Limits) -> tuple[Generation | None, bool, tuple[str, ...]]:
    """Write, prove it loads, commit; (generation in use, whether a new one was made, what loading skipped)."""
    staging = cache.stage()
    try:
        files: dict[str, dict[str, Any]] = {}
        outputs: list[tuple[str, Mapping[str, Any]]] = [(f"clusters/{n}.json", d) for n, d in docs.items()]
        outputs += [(f"galaxies/{n}.json", d) for n, d in defs.items() if n in docs]
        if extract is not None:
            outputs.append((ATTACK_EXTRACT, extract))
        for relpath, document in sorted(outputs, key=lambda o: o[0]):
            data = (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
            target = staging / relpath
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            entry = {k: v for k, v in entries.get(relpath, {"source": SOURCE_ATTACK}).items() if v is not None}
            if relpath.startswith("clusters/"):
                info = galaxy_info(document)
                entry.update(galaxy=info.type, version=info.version)
            files[relpath] = {**entry, "sha256": hashlib.sha256(data).hexdigest()}
        try:
            known = load_knowledge(staging, limits=limits.data)
        except Exception as exc:  # any failure to load means the data must not become current
            raise DataError(f"the new data does not load: {exc}") from exc
        if not known.actors:
            raise DataError("the new data has no actor galaxy")
        current = cache.current()
        if current is not None and _digests(current.manifest) == _digests({"files": files}):
            cache.discard(staging)
            return current, False, known.warnings
        manifest = {"format": 1, "created": now, "previous": in_use.generation, "files": files,
                    "sources": sources_meta, "based_on": in_use.label}
        return cache.commit(staging, manifest), True, known.warnings
    except BaseException:
        cache.discard(staging)
        raise


def _digests(manifest: Mapping[str, Any]) -> dict[str, str]:
    files = manifest.get("files") or {}
    return {rel: str(e.get("sha256")) for rel, e in files.items() if isinstance(e, Mapping)}


def _write_last_check(cache: Cache, generation: str | None, now: float) -> None:
    write_json_atomic(cache.root / LAST_CHECK, {"generation": generation, "checked": now})


# --- the data in use -------------------------------------------------------------------------


def _wanted(info: GalaxyInfo) -> bool:
    return (is_actor_galaxy(info) and not info.deprecated) or info.type in VOCABULARY_GALAXIES


def _shipped_missing(in_use: InUse) -> dict[str, tuple[Mapping[str, Any], Mapping[str, Any] | None]]:
    """The package's galaxies of groups that the data in use lacks: file name -> (clusters, definition)."""
    held = {galaxy_info(d).type for d in in_use.documents.values()}
    root = bundled_data_dir()
    out: dict[str, tuple[Mapping[str, Any], Mapping[str, Any] | None]] = {}
    for f in load_galaxies(root, lambda info: info.type in DEFAULT_GALAXIES and info.type not in held):
        definition = galaxy_file(root, "galaxies", f.name)
        out[f.name] = (f.document, read_json(definition) if definition is not None else None)
    return out


def _unread_galaxies(types_in_use: set[str]) -> list[str]:
    """Galaxy types the package reads and ships that the data in use lacks (a generation made before)."""
    shipped = {str(e.get("type")) for e in (bundled_manifest().get("galaxies") or {}).values() if isinstance(e, dict)}
    return sorted(t for t in shipped if t in DEFAULT_GALAXIES and t not in types_in_use)


def load_in_use(cache: Cache, names: tuple[str, ...] | None = None, fallback: Path | None = None) -> InUse:
    """The galaxy files an update starts from: the current generation, else ``fallback`` or the bundle."""
    current = cache.current()
    if current is not None:
        root, label, manifest = current.path, f"generation {current.id}", current.manifest
    else:
        root = fallback or bundled_data_dir()
        label = bundled_label(root) if fallback is None else str(root)
        manifest = {}
    documents: dict[str, Mapping[str, Any]] = {}
    definitions: dict[str, Mapping[str, Any]] = {}
    if names is None:
        for f in load_galaxies(root, _wanted):
            documents[f.name] = f.document
    for name in names or sorted(documents):
        cluster, definition = galaxy_file(root, "clusters", name), galaxy_file(root, "galaxies", name)
        if name not in documents and cluster is not None:
            documents[name] = read_json(cluster)
        if definition is not None:
            definitions[name] = read_json(definition)
    return InUse(root, current.id if current else None, label, documents, definitions, manifest)


# --- change summary ------------------------------------------------------------------------------


def diff_documents(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> GalaxyChanges | None:
    """New, renamed and removed clusters and added aliases, by uuid; None when nothing changed."""
    before = {c.uuid: c for c in clusters_from_document(old)} if old else {}
    after = {c.uuid: c for c in clusters_from_document(new)}
    new_ = tuple(sorted(after[u].value for u in after.keys() - before.keys()))
    removed = tuple(sorted(before[u].value for u in before.keys() - after.keys()))
    renamed = tuple(sorted((before[u].value, after[u].value) for u in after.keys() & before.keys()
                           if before[u].value != after[u].value))
    aliases = []
    for u in sorted(after.keys() & before.keys(), key=lambda u: after[u].value):
        had = {s.casefold() for s in (*before[u].synonyms, before[u].value)}
        added = tuple(s for s in after[u].synonyms if s.casefold() not in had)
        if added:
            aliases.append((after[u].value, added))
    if not (new_ or removed or renamed or aliases):
        return None
    return GalaxyChanges(str(new["type"]), new_, renamed, tuple(aliases), removed)


def summary_lines(changes: tuple[GalaxyChanges, ...]) -> list[str]:
    """One line per kind of change per galaxy, with a few examples."""
    def some(items: list[str]) -> str:
        more = f", ... (+{len(items) - EXAMPLES})" if len(items) > EXAMPLES else ""
        return ", ".join(items[:EXAMPLES]) + more

    lines = []
    for c in changes:
        if c.new:
            lines.append(f"{c.galaxy}: {len(c.new)} new: {some(list(c.new))}")
        if c.renamed:
            lines.append(f"{c.galaxy}: {len(c.renamed)} renamed: {some([f'{a} -> {b}' for a, b in c.renamed])}")
        if c.new_aliases:
            lines.append(f"{c.galaxy}: new aliases for {len(c.new_aliases)}: "
                         f"{some([f'{v} (+' + ', '.join(a) + ')' for v, a in c.new_aliases])}")
        if c.removed:
            lines.append(f"{c.galaxy}: {len(c.removed)} removed: {some(list(c.removed))}")
    return lines


# --- status ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GalaxyStatus:
    file: str
    galaxy: str
    version: int
    source: str
    url: str
    fetched: float | None


@dataclass(frozen=True, slots=True)
class StatusReport:
    in_use: Literal["cache", "bundled"]
    label: str
    path: str
    generation: str | None
    created: float                                   # generation made, or the bundled data's commit date
    checked: float                                   # last successful update run
    age_days: float                                  # since ``checked``
    stale_after_days: int
    stale: bool
    galaxies: tuple[GalaxyStatus, ...]
    sources: Mapping[str, Any]
    warnings: tuple[str, ...]                        # stale, unreadable pointer: status exits 1
    notes: tuple[str, ...] = ()
    bundle: Mapping[str, Any] = field(default_factory=dict)   # bundled data: misp-galaxy commit and date

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def status(config: SiteConfig, *, now: float | None = None) -> StatusReport:
    """Which data is in use, from where, which versions, how old; stale when unchecked for too long."""
    now = time.time() if now is None else now
    cache = cache_for(config)
    limit = config.cache.stale_after_days
    current = cache.current()
    warnings: list[str] = []
    if current is None:
        return _bundled_status(cache, limit, now)
    checked = _last_check(cache, current) or current.created
    age = (now - checked) / _DAY
    stale = age > limit
    files = current.manifest.get("files") or {}
    galaxies = tuple(GalaxyStatus(rel, str(e.get("galaxy", "")), int(e.get("version") or 0), str(e.get("source", "")),
                                  str(e.get("url", "")), e.get("fetched"))
                     for rel, e in sorted(files.items()) if rel.startswith("clusters/") and isinstance(e, Mapping))
    if stale:
        warnings.append(f"stale: last successful update {age:.0f} days ago (limit {limit}); "
                        "run misp-actor-enrich update")
    unread = _unread_galaxies({g.galaxy for g in galaxies}) if config.sources.galaxies is None else []
    if unread:
        warnings.append(f"the data in use has no {', '.join(unread)} galaxy, which this release reads "
                        "(no answer names their groups): run misp-actor-enrich update")
    sources = {k: v for k, v in (current.manifest.get("sources") or {}).items() if isinstance(v, Mapping)}
    return StatusReport("cache", f"generation {current.id}", str(current.path), current.id, current.created, checked,
                        round(age, 2), limit, stale, galaxies, sources, tuple(warnings))


def _bundled_status(cache: Cache, limit: int, now: float) -> StatusReport:
    """No update has run: the data bundled in the package, as old as its misp-galaxy commit."""
    root = bundled_data_dir()
    manifest = bundled_manifest(root)
    dated = bundled_date(root)
    created = dated if dated is not None else (root / "clusters").stat().st_mtime
    source = f"misp-galaxy {manifest['commit']}" if manifest.get("commit") else "bundled"
    galaxies = tuple(GalaxyStatus(f"clusters/{f.path.name}", f.info.type, f.info.version, SOURCE_BUNDLED,
                                  source, None) for f in load_galaxies(root, _wanted))
    age = (now - created) / _DAY
    stale = age > limit
    warnings: list[str] = []
    if dated is not None:
        note = (f"no update has run: using the misp-galaxy data bundled in the package, commit "
                f"{manifest.get('commit')} of {manifest.get('date')}; run misp-actor-enrich update for newer data")
    else:
        note = (f"no update has run: using the galaxy data in {root}, of unknown date (installed "
                f"{time.strftime('%Y-%m-%d', time.gmtime(created))})")
    why = cache.unreadable()
    if why is not None:
        warnings.append(f"the module cannot use the cache: {why}; it serves the bundled data. An update run as "
                        f"another user (root) must leave the cache readable: run it as the misp-modules user")
    elif (cache.root / "generations").is_dir() and any((cache.root / "generations").iterdir()):
        warnings.append(f"{cache.root} holds generations but no readable 'current' pointer")
    if stale:
        warnings.append(f"stale: the bundled data is {age:.0f} days old (limit {limit}); run misp-actor-enrich update")
    bundle: dict[str, Any] = {k: manifest[k] for k in ("source", "commit", "date") if k in manifest}
    return StatusReport("bundled", bundled_label(root), str(root), None, created, created, round(age, 2), limit,
                        stale, galaxies, {}, tuple(warnings), (note,), bundle)


def _last_check(cache: Cache, current: Generation) -> float | None:
    try:
        record = json.loads((cache.root / LAST_CHECK).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("generation") != current.id:
        return None
    checked = record.get("checked")
    return float(checked) if isinstance(checked, (int, float)) else None

