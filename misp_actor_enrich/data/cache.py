"""The data cache: complete galaxy-data generations, and an atomic pointer to the one in use.

Layout under the cache folder (default ``$XDG_CACHE_HOME/misp-actor-enrich``)::

    generations/<id>/clusters/*.json    a full misp-galaxy-style folder, ready for Knowledge
    generations/<id>/galaxies/*.json
    generations/<id>/manifest.json      where each file came from, versions, HTTP validators
    current                              the id of the generation in use (replaced atomically)

A generation is written in a staging folder and renamed into place, then ``current``
is replaced with ``os.replace``: a reader sees the old generation or the new one,
never a half-written one, and a failed update leaves both untouched.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from ..core.errors import DataError

MANIFEST = "manifest.json"
KEEP_GENERATIONS = 3


def default_cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    base = env.get("XDG_CACHE_HOME") or str(Path(env.get("HOME") or Path.home()) / ".cache")
    return Path(base) / "misp-actor-enrich"


@dataclass(frozen=True, slots=True)
class Generation:
    """One complete data folder in the cache."""

    id: str
    path: Path
    manifest: Mapping[str, Any]

    @property
    def created(self) -> float:
        value = self.manifest.get("created")
        return float(value) if isinstance(value, (int, float)) else self.path.stat().st_mtime


class Cache:
    def __init__(self, root: Path) -> None:
        self.root = Path(root).expanduser()

    @property
    def pointer(self) -> Path:
        return self.root / "current"

    def pointer_stamp(self) -> tuple[int, int] | None:
        """A cheap fingerprint of the pointer (mtime, size): changes when a new generation lands."""
        try:
            st = self.pointer.stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def current(self) -> Generation | None:
        """The generation in use, or None when there is none or it is unreadable."""
        try:
            gen_id = self.pointer.read_text(encoding="utf-8").strip()
        except OSError:
            return None
        return self.generation(gen_id)

    def generation(self, gen_id: str) -> Generation | None:
        if not gen_id or "/" in gen_id or gen_id.startswith("."):
            return None
        path = self.root / "generations" / gen_id
        try:
            manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(manifest, dict) or not (path / "clusters").is_dir():
            return None
        return Generation(gen_id, path, manifest)

    def stage(self) -> Path:
        """A fresh staging folder inside the cache (same filesystem, so the final rename is atomic)."""
        (self.root / "generations").mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=".staging-", dir=self.root / "generations"))

    def commit(self, staging: Path, manifest: Mapping[str, Any]) -> Generation:
        """Seal a staged folder as a new generation and point ``current`` at it."""
        if not (staging / "clusters").is_dir():
            raise DataError(f"staged data in {staging} has no clusters folder")
        gen_id = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + os.urandom(3).hex()
        write_json_atomic(staging / MANIFEST, {**manifest, "id": gen_id})
        final = self.root / "generations" / gen_id
        os.replace(staging, final)
        write_text_atomic(self.pointer, gen_id + "\n")
        self.prune()
        generation = self.generation(gen_id)
        if generation is None:  # pragma: no cover - we just wrote it
            raise DataError(f"cannot read back generation {gen_id}")
        return generation

    def discard(self, staging: Path) -> None:
        shutil.rmtree(staging, ignore_errors=True)

    def prune(self, keep: int = KEEP_GENERATIONS) -> None:
        """Remove old generations and abandoned staging folders, never the current one."""
        folder = self.root / "generations"
        current = self.current()
        gens = sorted((p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")),
                      key=lambda p: p.name, reverse=True)
        for old in gens[keep:]:
            if current is None or old.name != current.id:
                shutil.rmtree(old, ignore_errors=True)
        for staging in folder.glob(".staging-*"):
            if time.time() - staging.stat().st_mtime > 3600:
                shutil.rmtree(staging, ignore_errors=True)


def write_text_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json_atomic(path: Path, data: Any) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
