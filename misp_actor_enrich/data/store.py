"""Where galaxy data comes from: the misp-galaxy copy bundled in this package, or a folder.

A data folder has misp-galaxy's layout: ``galaxies/<name>.json`` (small definitions,
read to learn each galaxy's type and namespace) and ``clusters/<name>.json``, each
file possibly gzip-compressed (``<name>.json.gz``). Only the cluster files the caller
asks for are parsed: a full misp-galaxy checkout is 44 MB and we need a tenth of it.

The package bundles the actor, sector, target-information and region galaxies of one
misp-galaxy commit, gzipped, in ``data/bundled/`` with a ``manifest.json`` saying which
commit and which versions (``data.bundle`` writes it; ``status`` shows it).
"""

from __future__ import annotations

import calendar
import gzip
import importlib.util
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from ..core.errors import DataError
from ..core.galaxy import (
    DataLimits,
    GalaxyInfo,
    check_document,
    clusters_from_document,
    galaxy_info,
    is_actor_galaxy,
)
from ..core.knowledge import DataOrigin, Knowledge
from ..core.overrides import SiteOverrides
from ..core.vocabulary import Vocabulary
from ..version import __version__

BUNDLED_DIR = Path(__file__).resolve().parent / "bundled"
MANIFEST = "manifest.json"
SUFFIXES = (".json", ".json.gz")


@dataclass(frozen=True, slots=True)
class GalaxyFile:
    info: GalaxyInfo
    document: Mapping[str, Any]
    path: Path
    warnings: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """The file's galaxy name: ``threat-actor`` for ``clusters/threat-actor.json.gz``."""
        return file_name(self.path)


def file_name(path: Path) -> str:
    """``threat-actor`` for ``threat-actor.json`` or ``threat-actor.json.gz``."""
    name = path.name
    for suffix in sorted(SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            return name[:-len(suffix)]
    return path.stem


def galaxy_file(root: Path, folder: str, name: str) -> Path | None:
    """``root/folder/<name>.json`` or its gzipped copy, whichever exists."""
    for suffix in SUFFIXES:
        path = root / folder / f"{name}{suffix}"
        if path.is_file():
            return path
    return None


def bundled_data_dir() -> Path:
    """The misp-galaxy data this package ships (see ``bundled_manifest``)."""
    if not (BUNDLED_DIR / "clusters").is_dir():
        raise DataError(f"no bundled galaxy data in {BUNDLED_DIR}: the package is incomplete")
    return BUNDLED_DIR


def bundled_manifest(root: Path | None = None) -> dict[str, Any]:
    """Which misp-galaxy commit the bundled data is, of when, and each galaxy's version; {} if unknown."""
    path = (root or BUNDLED_DIR) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return manifest if isinstance(manifest, dict) else {}


def bundled_label(root: Path | None = None) -> str:
    """``misp-galaxy 9434ace (2026-08-06), bundled with misp-actor-enrich 0.1.0``."""
    manifest = bundled_manifest(root)
    commit, date = str(manifest.get("commit") or "")[:7], manifest.get("date")
    source = f"misp-galaxy {commit} ({date})" if commit and date else "misp-galaxy data"
    return f"{source}, bundled with misp-actor-enrich {__version__}"


def bundled_date(root: Path | None = None) -> float | None:
    """The bundled data's commit date (epoch seconds, UTC midnight), when the manifest says it."""
    date = bundled_manifest(root).get("date")
    try:
        return float(calendar.timegm(time.strptime(str(date), "%Y-%m-%d"))) if date else None
    except ValueError:
        return None


def pymispgalaxies_data_dir() -> Path:
    """The misp-galaxy copy inside an installed pymispgalaxies (tests and benchmarks compare with it).

    The package itself does not need pymispgalaxies; this never imports it.
    """
    spec = importlib.util.find_spec("pymispgalaxies")
    if spec is None or not spec.submodule_search_locations:
        raise DataError("pymispgalaxies is not installed (pip install '.[test]')")
    root = Path(next(iter(spec.submodule_search_locations))) / "data" / "misp-galaxy"
    if not (root / "clusters").is_dir():
        raise DataError(f"no clusters folder in {root}")
    return root


def pymispgalaxies_version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("pymispgalaxies")
    except PackageNotFoundError:
        return "unknown"


def read_json(path: Path) -> Any:
    """A JSON file, gunzipped first when its name ends in ``.gz``."""
    try:
        if path.name.endswith(".gz"):
            with gzip.open(path, "rb") as packed:
                return json.load(packed)
        with path.open("rb") as handle:
            return json.load(handle)
    except (OSError, ValueError, EOFError) as exc:
        raise DataError(f"cannot read {path}: {exc}") from exc
    except RecursionError:
        raise DataError(f"cannot read {path}: JSON nested too deep") from None


def load_galaxies(root: Path, wanted: Callable[[GalaxyInfo], bool],
                  limits: DataLimits | None = None) -> list[GalaxyFile]:
    """Parse the cluster files of ``root`` whose galaxy ``wanted`` accepts.

    Only the head of each cluster file is read to decide (misp-galaxy writes keys
    sorted, so type and category come before the values); the rest is parsed only
    for the files we keep. A kept file past ``limits`` or with a uuid twice is a
    ``DataError``; its broken entries are the file's ``warnings``.
    """
    clusters_dir = root / "clusters"
    if not clusters_dir.is_dir():
        raise DataError(f"no clusters folder in {root}")
    out: list[GalaxyFile] = []
    paths = {file_name(p): p for suffix in reversed(SUFFIXES) for p in sorted(clusters_dir.glob(f"*{suffix}"))}
    for name, path in sorted(paths.items()):
        definition_path = galaxy_file(root, "galaxies", name)
        definition = read_json(definition_path) if definition_path is not None else None
        if not isinstance(definition, Mapping):
            definition = None
        head = _peek_header(path) if path.suffix == ".json" else None
        if head is not None and not wanted(galaxy_info(head, definition)):
            continue
        document = read_json(path)
        try:
            info = galaxy_info(document, definition)
        except DataError:
            continue  # not a cluster file; other files may sit beside them
        if wanted(info):
            check = check_document(document, limits)
            if check.refusals:
                raise DataError(f"{path.name}: " + "; ".join(check.refusals), field=str(root))
            out.append(GalaxyFile(info, document, path, tuple(f"{path.name}: {w}" for w in check.warnings)))
    return out


_HEAD_FIELD = re.compile(rb'"(type|category|name|version)"\s*:\s*("(?:[^"\\]|\\.)*"|\d+)')


def _peek_header(path: Path) -> dict[str, Any] | None:
    """type/category/name/version from the first bytes of a cluster file, or None if unsure."""
    try:
        with path.open("rb") as handle:
            head = handle.read(16384)
    except OSError:
        return None
    values_at = head.find(b'"values"')
    if values_at < 0:
        return None
    fields: dict[str, Any] = {"values": []}
    for match in _HEAD_FIELD.finditer(head, 0, values_at):
        fields.setdefault(match.group(1).decode(), json.loads(match.group(2)))
    return fields if "type" in fields else None


def load_cluster_file(root: Path, name: str) -> Mapping[str, Any] | None:
    """One cluster file by name (``target-information``), or None when absent."""
    path = galaxy_file(root, "clusters", name)
    if path is None:
        return None
    document = read_json(path)
    return document if isinstance(document, Mapping) else None


def load_knowledge(root: Path, label: str | None = None, galaxy_types: Sequence[str] | None = None,
                   overrides: SiteOverrides | None = None, limits: DataLimits | None = None) -> Knowledge:
    """A Knowledge from a misp-galaxy folder; by default every galaxy that names threat groups."""
    wanted_types = set(galaxy_types) if galaxy_types else None

    def wanted(info: GalaxyInfo) -> bool:
        if wanted_types is not None:
            return info.type in wanted_types
        return is_actor_galaxy(info) and not info.deprecated

    files = load_galaxies(root, wanted, limits)
    clusters = [c for f in files for c in clusters_from_document(f.document)]
    vocabulary = Vocabulary.from_galaxy_clusters(
        load_cluster_file(root, "target-information") or {"values": []},
        load_cluster_file(root, "sector") or {"values": []},
        load_cluster_file(root, "region"),
    )
    origin = DataOrigin(label or str(root), root, tuple(f.info for f in files),
                        tuple(w for f in files for w in f.warnings))
    return Knowledge(clusters, vocabulary, origin, overrides=overrides)


def bundled_knowledge(overrides: SiteOverrides | None = None) -> Knowledge:
    """A Knowledge from the misp-galaxy data bundled in this package."""
    return load_knowledge(bundled_data_dir(), label=bundled_label(), overrides=overrides)
