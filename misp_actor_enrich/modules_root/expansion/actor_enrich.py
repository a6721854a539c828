"""misp-modules entry point for ``actor_enrich`` (loaded with ``misp-modules -c <modules root>``).

misp-modules imports this file as a top-level module, so it re-exports the
implementation with an absolute import; if misp-actor-enrich is not installed in
misp-modules' environment the ImportError makes misp-modules skip it with a warning.
"""

from misp_actor_enrich.misp.module import (  # noqa: F401
    dict_handler,
    handler,
    introspection,
    mispattributes,
    moduleconfig,
    moduleinfo,
    version,
)
