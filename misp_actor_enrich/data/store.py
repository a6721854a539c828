"""Where galaxy data comes from: the misp-galaxy copy bundled with pymispgalaxies, or a folder.

A data folder has misp-galaxy's layout: ``galaxies/<name>.json`` (small definitions,
read to learn each galaxy's type and namespace) and ``clusters/<name>.json``. Only
the cluster files the caller asks for are parsed: the bundle is 44 MB and we need
about a tenth of it.
"""

from __future__ import annotations

import importlib.util
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from ..core.errors import DataError
from ..core.galaxy import (
    GalaxyInfo,
    clusters_from_document,
    galaxy_info,
    is_actor_galaxy,
)
from ..core.knowledge import DataOrigin, Knowledge
from ..core.overrides import SiteOverrides
from ..core.vocabulary import Vocabulary


@dataclass(frozen=True, slots=True)
class GalaxyFile:
    info: GalaxyInfo
    document: Mapping[str, Any]
    path: Path


def bundled_data_dir() -> Path:
    """misp-galaxy as shipped inside the installed pymispgalaxies package (no import needed)."""
    spec = importlib.util.find_spec("pymispgalaxies")
    if spec is None or not spec.submodule_search_locations:
        raise DataError("pymispgalaxies is not installed: no bundled galaxy data")
    root = Path(next(iter(spec.submodule_search_locations))) / "data" / "misp-galaxy"
    if not (root / "clusters").is_dir():
        raise DataError(f"no clusters folder in {root}")
    return root


def bundled_version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("pymispgalaxies")
    except PackageNotFoundError:
        return "unknown"


def read_json(path: Path) -> Any:
    try:
        with path.open("rb") as handle:
            return json.load(handle)
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read {path}: {exc}") from exc


def load_galaxies(root: Path, wanted: Callable[[GalaxyInfo], bool]) -> list[GalaxyFile]:
    """Parse the cluster files of ``root`` whose galaxy ``wanted`` accepts.

    Only the head of each cluster file is read to decide (misp-galaxy writes keys
    sorted, so type and category come before the values); the rest is parsed only
    for the files we keep.
    """
    clusters_dir = root / "clusters"
    if not clusters_dir.is_dir():
        raise DataError(f"no clusters folder in {root}")
    out: list[GalaxyFile] = []
    for path in sorted(clusters_dir.glob("*.json")):
        definition_path = root / "galaxies" / path.name
        definition = read_json(definition_path) if definition_path.is_file() else None
        if not isinstance(definition, Mapping):
            definition = None
        head = _peek_header(path)
        if head is not None and not wanted(galaxy_info(head, definition)):
            continue
        document = read_json(path)
        try:
            info = galaxy_info(document, definition)
        except DataError:
            continue  # not a cluster file; other files may sit beside them
        if wanted(info):
            out.append(GalaxyFile(info, document, path))
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
    path = root / "clusters" / f"{name}.json"
    if not path.is_file():
        return None
    document = read_json(path)
    return document if isinstance(document, Mapping) else None


def load_knowledge(root: Path, label: str | None = None, galaxy_types: Sequence[str] | None = None,
                   overrides: SiteOverrides | None = None) -> Knowledge:
    """A Knowledge from a misp-galaxy folder; by default every galaxy that names threat groups."""
    wanted_types = set(galaxy_types) if galaxy_types else None

    def wanted(info: GalaxyInfo) -> bool:
        if wanted_types is not None:
            return info.type in wanted_types
        return is_actor_galaxy(info) and not info.deprecated

    files = load_galaxies(root, wanted)
    clusters = [c for f in files for c in clusters_from_document(f.document)]
    vocabulary = Vocabulary.from_galaxy_clusters(
        load_cluster_file(root, "target-information") or {"values": []},
        load_cluster_file(root, "sector") or {"values": []},
        load_cluster_file(root, "region"),
    )
    origin = DataOrigin(label or str(root), root, tuple(f.info for f in files))
    return Knowledge(clusters, vocabulary, origin, overrides=overrides)


def bundled_knowledge(overrides: SiteOverrides | None = None) -> Knowledge:
    """A Knowledge from the misp-galaxy copy bundled with pymispgalaxies."""
    return load_knowledge(bundled_data_dir(), label=f"pymispgalaxies {bundled_version()} (bundled)",
                          overrides=overrides)
