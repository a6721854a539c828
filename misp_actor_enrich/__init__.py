"""misp-actor-enrich: resolve threat-actor names across MISP galaxies, with known targeting.

Public API::

    from misp_actor_enrich import resolve
    resolution = resolve("Reaper")      # Resolution(status=resolved, candidates=(APT37 ...))
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"
__all__ = ["resolve", "__version__"]

if TYPE_CHECKING:
    from .models import Resolution


def resolve(name: str) -> "Resolution":
    """Resolve one actor name with the process-wide knowledge (built on first call)."""
    from . import knowledge  # deferred: importing the package must stay cheap

    return knowledge.current().resolve(name)
