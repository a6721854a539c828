"""The PyMISP client as this package opens it: one place for the user agent and PyMISP's logging."""

from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Any, Iterator


def connect(url: str, key: str, ssl: bool | str, timeout: float) -> Any:
    """A PyMISP client (PyMISP checks the URL and key on construction); errors are the caller's to redact."""
    from pymisp import PyMISP

    from ..version import __version__

    return PyMISP(url, key, ssl=ssl, timeout=timeout, tool=f"misp-actor-enrich/{__version__}")


@contextmanager
def quiet_pymisp() -> Iterator[None]:
    """Silence PyMISP's own logging: it logs every HTTP error, ours are summarised in reports."""
    logger = logging.getLogger("pymisp")
    level = logger.level
    logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        logger.setLevel(level)
