"""misp-actor-enrich: resolve threat-actor names across MISP galaxies, with known targeting.

Public API::

    from misp_actor_enrich import resolve
    resolution = resolve("Reaper")      # Resolution(status=resolved, candidates=(APT37 ...))

The package is layered; each layer imports only the ones below it (``tests/test_architecture.py``):
``cli`` (the command) -> ``misp`` (misp-modules contract, MISP output, PyMISP enrichment)
-> ``data`` (files, network, cache, the process-wide knowledge) -> ``core`` (pure).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .version import __version__

__all__ = ["resolve", "__version__"]

if TYPE_CHECKING:
    from .core.models import Resolution


def resolve(name: str) -> "Resolution":
    """Resolve one actor name with the process-wide knowledge (built on first call)."""
    from .data import runtime  # deferred: importing the package must stay cheap

    return runtime.current().resolve(name)
