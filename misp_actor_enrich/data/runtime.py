"""Which knowledge the running process uses, and when to rebuild it.

The best data available wins: the cache's current generation (written by
``misp-actor-enrich update``), else the misp-galaxy data bundled in the package;
the site overrides file is applied on top. A running misp-modules notices new data
or edited overrides without a restart: at most every ``CHECK_INTERVAL`` seconds one
request stats three files (config, overrides, cache pointer); when one changed, that
request builds a new Knowledge while every other request keeps answering from the
old one, then the reference is swapped. No request ever sees a half-built index.

A config or overrides file that does not load (any YAML error), names what does not
exist (a galaxy type, a sector, a country) or is named and missing is an ``error``:
the last good file stays in force (none, when there never was one), so enrichment
never stops on a typo, and until the file is fixed every answer says so (``errors``,
which the module puts in each answer), ``status`` exits 2 and ``checked()`` makes the
commands that write to MISP refuse. Data problems (cached data that does not load, an
override naming an actor the data lacks) are ``problems``: logged and shown by
``status``, never in answers, because the data changes under the site's files.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

from ..core.errors import ActorEnrichError, ConfigError
from ..core.knowledge import Knowledge
from ..core.overrides import SiteOverrides, unknown_values
from ..core.settings import check_galaxy_types
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
    errors: tuple[str, ...] = ()        # the site's files say something wrong: every answer says so


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

    @property
    def errors(self) -> tuple[str, ...]:
        loaded = self._loaded
        return loaded.errors if loaded and self._installed is None else ()

    def checked(self) -> Knowledge:
        """``current()``, or a ``ConfigError`` while the site's config or overrides are wrong
        (for commands that write to MISP: they refuse rather than run on the last good files)."""
        knowledge = self.current()
        if self.errors:
            raise ConfigError(" | ".join(self.errors) + " (every answer is this error until the file is fixed)")
        return knowledge

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
        errors: list[str] = []
        config = self._load_config(previous, errors)
        overrides = self._load_overrides(config, previous, errors)
        stamp = self._stamp(config)
        knowledge: Knowledge | None = None
        cache = self.cache(config)
        generation = cache.current()
        if generation is None and (why := cache.unreadable()) is not None:
            problems.append(f"{why}; using the bundled data")
        if generation is not None:
            try:
                knowledge = load_knowledge(
                    generation.path, label=f"cache generation {generation.id} ({generation.path})",
                    overrides=overrides, limits=config.limits)
            except (ActorEnrichError, OSError, ValueError) as exc:
                problems.append(f"cached data {generation.id} could not be loaded ({exc}); using the bundled data")
        if knowledge is None:
            knowledge = bundled_knowledge(overrides)
        problems.extend(knowledge.warnings)
        if overrides is not None:
            errors.extend(unknown_values(overrides, knowledge.vocabulary))
        try:
            check_galaxy_types(config.module, knowledge.galaxy_types, field=f"{config.path}: module.galaxy_types")
        except ConfigError as exc:
            errors.append(str(exc))
        for message in (*errors, *problems):
            log.warning("misp-actor-enrich: %s", message)
        return Loaded(knowledge, config, overrides, stamp, tuple(problems), tuple(errors))

    def _load_config(self, previous: Loaded | None, errors: list[str]) -> SiteConfig:
        explicit = self.environ.get(CONFIG_ENV)
        if explicit and not Path(explicit).exists():
            errors.append(f"{CONFIG_ENV}={explicit}: no such file")
            return previous.config if previous else SiteConfig()
        try:
            return site_config.load(explicit or None, environ=self.environ)
        except ActorEnrichError as exc:
            errors.append(str(exc))
            return previous.config if previous else SiteConfig()

    def _load_overrides(self, config: SiteConfig, previous: Loaded | None, errors: list[str]) -> SiteOverrides | None:
        path = self.overrides_path(config)
        if not path.is_file():
            if config.overrides is not None:
                errors.append(f"{config.path}: overrides: {path}: no such file")
            return None
        try:
            return overrides_file.load(path)
        except ActorEnrichError as exc:
            errors.append(str(exc))
            return previous.overrides if previous else None


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


def checked() -> Knowledge:
    """``current()``, or a ``ConfigError`` naming what is wrong in the site's config or overrides."""
    return RUNTIME.checked()


def site_errors() -> tuple[str, ...]:
    """What is wrong in the site's config or overrides now (the last good files are in force)."""
    return RUNTIME.errors


def install(knowledge: Knowledge | None) -> None:
    """Use exactly this knowledge from now on (tests, scripts); None goes back to loading it."""
    RUNTIME.install(knowledge)
