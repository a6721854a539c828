"""Maintainers: refresh the galaxy data bundled in the package from a misp-galaxy checkout.

    python -m misp_actor_enrich.data.bundle /path/to/misp-galaxy     # or: make bundle GALAXY=/path/to/misp-galaxy
    python -m misp_actor_enrich.data.bundle DIR --commit SHA --date 2026-08-06

Copies the actor galaxies (every galaxy that names threat groups, deprecated ones
left out) and the vocabulary galaxies (target-information, sector, region) byte for
byte, gzipped, with their ``galaxies/*.json`` definitions, and writes ``manifest.json``:
the misp-galaxy commit and its date, each galaxy's type, version, cluster count and
the sha256 of the uncompressed file. The commit and date come from ``--commit`` and
``--date``, else from ``git`` in the checkout, else from a ``SOURCE`` file beside it
("... (commit <sha>, <YYYY-MM-DD>) ..."). The new data must load (``load_knowledge``)
before it replaces the old, and it replaces it all at once. Gzip output is made
reproducible (no timestamp, no file name), so an unchanged checkout gives identical bytes.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Sequence

from ..core.errors import ActorEnrichError, DataError
from ..core.galaxy import GalaxyInfo, clusters_from_document, is_actor_galaxy
from .sources import VOCABULARY_GALAXIES
from .store import BUNDLED_DIR, MANIFEST, galaxy_file, load_galaxies, load_knowledge

_SOURCE = re.compile(r"commit\s+([0-9a-f]{7,40})\b[^0-9]*(\d{4}-\d{2}-\d{2})", re.IGNORECASE)


def wanted(info: GalaxyInfo) -> bool:
    """The galaxies the package ships: actor galaxies in use, and the targeting vocabulary."""
    return (is_actor_galaxy(info) and not info.deprecated) or info.type in VOCABULARY_GALAXIES


def source_of(checkout: Path, commit: str | None = None, date: str | None = None) -> tuple[str, str]:
    """The checkout's commit and commit date (YYYY-MM-DD)."""
    if commit and date:
        return commit, date
    if (checkout / ".git").exists():
        try:
            done = subprocess.run(["git", "-C", str(checkout), "log", "-1", "--format=%H %cs"], check=True,
                                  capture_output=True, text=True, timeout=30)
            found_commit, found_date = done.stdout.split()
            return commit or found_commit, date or found_date
        except (OSError, subprocess.SubprocessError, ValueError):
            pass
    source = checkout / "SOURCE"
    match = _SOURCE.search(source.read_text(encoding="utf-8")) if source.is_file() else None
    if match:
        return commit or match.group(1), date or match.group(2)
    raise DataError(f"{checkout}: cannot tell which misp-galaxy commit this is; pass --commit and --date")


def build(checkout: Path, target: Path = BUNDLED_DIR, *, commit: str | None = None,
          date: str | None = None) -> dict[str, Any]:
    """Write the bundle for ``checkout`` into ``target`` (replacing it); returns the manifest."""
    commit, date = source_of(checkout, commit, date)
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", date):
        raise DataError(f"--date {date!r}: expected YYYY-MM-DD")
    files = load_galaxies(checkout, wanted)
    if not any(is_actor_galaxy(f.info) for f in files):
        raise DataError(f"{checkout}: no actor galaxy in clusters/")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".bundle-", dir=target.parent))
    staging.chmod(0o755)                # mkdtemp makes it private; this is package data
    try:
        galaxies: dict[str, Any] = {}
        for f in files:
            raw = f.path.read_bytes()
            _write_gzip(staging / "clusters" / f"{f.name}.json.gz", raw)
            definition = galaxy_file(checkout, "galaxies", f.name)
            if definition is not None:
                (staging / "galaxies").mkdir(exist_ok=True)
                shutil.copyfile(definition, staging / "galaxies" / f"{f.name}.json")
            galaxies[f.name] = {"type": f.info.type, "version": f.info.version,
                                "clusters": len(clusters_from_document(f.document)),
                                "sha256": hashlib.sha256(raw).hexdigest()}
        manifest = {"format": 1, "source": "misp-galaxy", "commit": commit, "date": date, "galaxies": galaxies}
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        try:
            known = load_knowledge(staging)
        except Exception as exc:  # whatever breaks loading must keep the old bundle
            raise DataError(f"the new bundle does not load: {exc}") from exc
        if not known.actors:
            raise DataError("the new bundle has no actors")
        _replace(staging, target)
        return manifest
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _write_gzip(path: Path, raw: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle, gzip.GzipFile(filename="", mode="wb", fileobj=handle, compresslevel=9,
                                                  mtime=0) as packed:
        packed.write(raw)


def _replace(staging: Path, target: Path) -> None:
    """Swap ``staging`` in for ``target``: the old one is moved aside first, removed last."""
    old = target.with_name(f".{target.name}-old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    staging.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m misp_actor_enrich.data.bundle",
                                     description="Refresh the package's bundled galaxy data from a misp-galaxy checkout.")
    parser.add_argument("checkout", type=Path, help="a misp-galaxy checkout (clusters/, galaxies/)")
    parser.add_argument("--commit", help="the checkout's commit (default: from git or a SOURCE file)")
    parser.add_argument("--date", help="the commit's date, YYYY-MM-DD (default: from git or a SOURCE file)")
    parser.add_argument("--target", type=Path, default=BUNDLED_DIR, help="where to write (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        manifest = build(args.checkout, args.target, commit=args.commit, date=args.date)
    except ActorEnrichError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"bundled misp-galaxy {manifest['commit']} ({manifest['date']}) into {args.target}:")
    for name, entry in sorted(manifest["galaxies"].items()):
        print(f"  {name:28} {entry['type']:28} version {entry['version']:<5} {entry['clusters']:5} clusters")
    return 0


if __name__ == "__main__":
    sys.exit(main())
