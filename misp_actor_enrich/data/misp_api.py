"""The PyMISP client as this package opens it: one place for the user agent, PyMISP's logging,
and saying why a connection failed.

PyMISP folds every failure of its constructor into one message; when it fails, one plain
request (``GET /users/view/me``) tells the cases apart: ``UnreachableError`` (no such
host, refused, no answer, TLS, no MISP API at that URL) and ``AuthenticationError``
(MISP refuses the key). No message ever carries the key.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Any, Iterator

from ..core.errors import (
    ActorEnrichError,
    AuthenticationError,
    DataError,
    UnreachableError,
)


def connect(url: str, key: str, ssl: bool | str, timeout: float) -> Any:
    """A PyMISP client (PyMISP checks the URL and key on construction), or the reason it cannot be had."""
    from pymisp import PyMISP

    from ..version import __version__

    try:
        return PyMISP(url, key, ssl=ssl, timeout=timeout, tool=f"misp-actor-enrich/{__version__}")
    except Exception as exc:  # PyMISP raises many kinds; the probe below says which case it is
        raise diagnose(url, key, ssl, timeout, exc) from None


def diagnose(url: str, key: str, ssl: bool | str, timeout: float, cause: BaseException) -> ActorEnrichError:
    """Why PyMISP could not open a session at ``url``, from one request of our own."""
    import requests

    from .fetch import display, unreachable

    where = display(url)
    try:
        response = requests.get(f"{url.rstrip('/')}/users/view/me.json", timeout=timeout, verify=ssl,
                                allow_redirects=False,
                                headers={"Authorization": key, "Accept": "application/json"})
    except requests.exceptions.SSLError:
        return UnreachableError("TLS verification failed: --ca-bundle FILE (or misp.ca_bundle) names the CA that "
                                "signed MISP's certificate; --insecure skips the check", field=where)
    except requests.RequestException as exc:
        why = unreachable(exc, timeout) or f"no answer ({type(exc).__name__})"
        return UnreachableError(why, field=where)
    with response:
        status = response.status_code
        if status in (401, 403):
            return AuthenticationError(
                f"MISP refused the API key (HTTP {status} {_message(response)}): check MISP_KEY, --key or misp.key; "
                "the key must belong to an enabled user", field=where)
        if response.is_redirect:
            return UnreachableError(f"redirected to {display(response.headers.get('Location', '?'))}: "
                                    "use that URL", field=where)
        if status == 200 and _json_user(response):
            return DataError(f"MISP accepts the key, but PyMISP could not open a session: {_short(cause, key)}",
                             field=where)
        return UnreachableError(f"no MISP API answers here (HTTP {status} for /users/view/me)", field=where)


def _message(response: Any) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.reason or ""
    text = body.get("message") or body.get("name") if isinstance(body, dict) else None
    return str(text or response.reason or "")[:120]


def _json_user(response: Any) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and "User" in body


def _short(exc: BaseException, key: str) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    text = text.replace(key, "***") if key else text
    return text if len(text) <= 300 else text[:297] + "..."


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
