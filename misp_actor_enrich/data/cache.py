"""The data cache: complete galaxy-data generations, and an atomic pointer to the one in use.

Layout under the cache folder (default ``$XDG_CACHE_HOME/misp-actor-enrich``)::

    generations/<id>/clusters/*.json    a full misp-galaxy-style folder, ready for Knowledge
    generations/<id>/galaxies/*.json
    generations/<id>/manifest.json      where each file came from, versions, HTTP validators
    current                              the id of the generation in use (replaced atomically)

A generation is written in a staging folder and renamed into place, then ``current``
is replaced with ``os.replace``: a reader sees the old generation or the new one,
never a half-written one, and a failed update leaves both untouched.

One updater at a time: ``lock()`` holds an exclusive ``flock`` on ``.lock`` for a whole
update, so two updates (two cron jobs, an admin and a timer) run one after the other,
the second building on the first's data, and pruning never removes a generation another
updater is about to point at. Generations, the pointer and the manifest are world-readable
(0755 folders, 0644 files) whatever the umask: an update run as root must stay readable by
the user misp-modules runs as.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping

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
        """The generation in use, or None when there is none or it is unreadable (``unreadable`` says which)."""
        try:
            gen_id = self.pointer.read_text(encoding="utf-8").strip()
        except OSError:
            return None
        return self.generation(gen_id)

    def unreadable(self) -> str | None:
        """Why a cache that exists cannot be used by this user, or None (no cache at all is fine)."""
        try:
            gen_id = self.pointer.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        except OSError as exc:
            return f"cannot read {self.pointer}: {exc.strerror or exc}"
        path = self.root / "generations" / gen_id
        if self.generation(gen_id) is None:
            manifest = path / MANIFEST
            if manifest.exists() and not os.access(manifest, os.R_OK):
                return f"cannot read {manifest}: permission denied (written by another user?)"
            return f"{self.pointer} names generation {gen_id!r}, which is missing or incomplete"
        return None

    @contextmanager
    def lock(self, wait: float = 120.0) -> Iterator[None]:
        """Hold the updaters' lock; waits up to ``wait`` seconds for another update to finish."""
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / ".lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            deadline = time.monotonic() + wait
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
                        raise DataError(f"another update (pid {holder}) has held the cache for over {wait:g} s; "
                                        f"try again when it is done", field=str(self.root)) from None
                    time.sleep(0.2)
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
            yield
        finally:
            os.close(fd)          # closing releases the lock

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
        _readable(staging)
        final = self.root / "generations" / gen_id
        os.replace(staging, final)
        # The pointer moves only to a generation that is complete and in place; pruning spares it.
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


def _readable(folder: Path) -> None:
    """0755 folders and 0644 files under ``folder`` (mkdtemp and mkstemp make them private)."""
    os.chmod(folder, 0o755)
    for base, dirs, files in os.walk(folder):
        for name in dirs:
            os.chmod(os.path.join(base, name), 0o755)
        for name in files:
            os.chmod(os.path.join(base, name), 0o644)


def write_text_atomic(path: Path, text: str, mode: int = 0o644) -> None:
    """Replace ``path`` with ``text`` in one step; ``mode`` 0o600 for what only its owner may read."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
            os.fchmod(handle.fileno(), mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json_atomic(path: Path, data: Any, mode: int = 0o644) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n", mode)
