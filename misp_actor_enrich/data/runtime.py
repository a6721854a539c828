"""Which knowledge the running process uses, and when to rebuild it.

The best data available wins: the cache's current generation (written by
``misp-actor-enrich update``), else the misp-galaxy data bundled in the package;
the site overrides file is applied on top. A running misp-modules notices new data
or edited overrides without a restart: at most every ``CHECK_INTERVAL`` seconds one
request stats three files (config, overrides, cache pointer); when one changed, that
request builds a new Knowledge while every other request keeps answering from the
old one, then the reference is swapped. No request ever sees a half-built index.

A config or overrides file that does not parse is reported (``problems``) and the
last good one stays in force.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

from ..core.errors import ActorEnrichError
from ..core.knowledge import Knowledge
from ..core.overrides import SiteOverrides
from . import overrides_file, site_config
from .cache import Cache, default_cache_dir
from .site_config import SiteConfig
from .store import bundled_knowledge, load_knowledge

log = logging.getLogger(__name__)

CONFIG_ENV = "MISP_ACTOR_ENRICH_CONFIG"
CHECK_INTERVAL = 5.0
Stamp = tuple[tuple[int, int] | None, ...]


@dataclass(frozen=True, slots=True)
class Loaded:
    knowledge: Knowledge
    config: SiteConfig
    overrides: SiteOverrides | None
    stamp: Stamp
    problems: tuple[str, ...]


class Runtime:
    def __init__(self, environ: Mapping[str, str] | None = None, interval: float = CHECK_INTERVAL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.environ = os.environ if environ is None else environ
        self.interval = interval
        self.clock = clock
        self._loaded: Loaded | None = None
        self._installed: Knowledge | None = None
        self._build_lock = threading.Lock()
        self._next_check = 0.0

    def current(self) -> Knowledge:
        if self._installed is not None:
            return self._installed
        loaded = self._loaded
        if loaded is None:
            with self._build_lock:
                if self._loaded is None:
                    self._loaded = self._build(None)
                    self._next_check = self.clock() + self.interval
                return self._loaded.knowledge
        now = self.clock()
        if now >= self._next_check:
            self._next_check = now + self.interval
            # One request rebuilds; the others never wait for it.
            if self._stamp(loaded.config) != loaded.stamp and self._build_lock.acquire(blocking=False):
                try:
                    self._loaded = self._build(loaded)
                finally:
                    self._build_lock.release()
        return self._loaded.knowledge if self._loaded else loaded.knowledge

    def install(self, knowledge: Knowledge | None) -> None:
        """Answer from exactly this knowledge; None goes back to the loaded data."""
        self._installed = knowledge

    def refresh(self) -> Knowledge:
        """Check now, whatever the interval (``status`` and tests)."""
        self._next_check = 0.0
        return self.current()

    @property
    def problems(self) -> tuple[str, ...]:
        loaded = self._loaded
        return loaded.problems if loaded else ()

    def config_path(self) -> Path | None:
        explicit = self.environ.get(CONFIG_ENV)
        return Path(explicit) if explicit else site_config.default_path(self.environ)

    def overrides_path(self, config: SiteConfig) -> Path:
        if config.overrides is not None:
            return config.overrides
        config_path = self.config_path()
        base = config_path.parent if config_path else site_config.default_path(self.environ).parent
        return base / "overrides.yaml"

    def cache(self, config: SiteConfig) -> Cache:
        return Cache(config.cache.dir or default_cache_dir(self.environ))

    def _stamp(self, config: SiteConfig) -> Stamp:
        return (_file_stamp(self.config_path()), _file_stamp(self.overrides_path(config)),
                self.cache(config).pointer_stamp())

    def _build(self, previous: Loaded | None) -> Loaded:
        problems: list[str] = []
        config = self._load_config(previous, problems)
        overrides = self._load_overrides(config, previous, problems)
        stamp = self._stamp(config)
        knowledge: Knowledge | None = None
        generation = self.cache(config).current()
        if generation is not None:
            try:
                knowledge = load_knowledge(
                    generation.path, label=f"cache generation {generation.id} ({generation.path})",
                    overrides=overrides)
            except (ActorEnrichError, OSError, ValueError) as exc:
                problems.append(f"cached data {generation.id} could not be loaded ({exc}); using the bundled data")
        if knowledge is None:
            knowledge = bundled_knowledge(overrides)
        problems.extend(knowledge.warnings)
        for problem in problems:
            log.warning("misp-actor-enrich: %s", problem)
        return Loaded(knowledge, config, overrides, stamp, tuple(problems))

    def _load_config(self, previous: Loaded | None, problems: list[str]) -> SiteConfig:
        explicit = self.environ.get(CONFIG_ENV)
        try:
            return site_config.load(explicit or None, environ=self.environ)
        except ActorEnrichError as exc:
            problems.append(f"config not loaded, {'keeping the last good one' if previous else 'using defaults'}: {exc}")
            return previous.config if previous else SiteConfig()

    def _load_overrides(self, config: SiteConfig, previous: Loaded | None,
                        problems: list[str]) -> SiteOverrides | None:
        path = self.overrides_path(config)
        if not path.is_file():
            if config.overrides is not None:
                problems.append(f"{path}: overrides file not found")
            return None
        try:
            return overrides_file.load(path)
        except ActorEnrichError as exc:
            keep = previous.overrides if previous else None
            problems.append(f"overrides not loaded, {'keeping the last good ones' if keep else 'running without'}: "
                            f"{exc}")
            return keep


def _file_stamp(path: Path | None) -> tuple[int, int] | None:
    if path is None:
        return None
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


RUNTIME = Runtime()


def current() -> Knowledge:
    """The process-wide knowledge: the newest cached data or the bundled one, with site overrides.

    Built on first use and rebuilt when the data or the overrides change.
    """
    return RUNTIME.current()


def install(knowledge: Knowledge | None) -> None:
    """Use exactly this knowledge from now on (tests, scripts); None goes back to loading it."""
    RUNTIME.install(knowledge)
