"""Bounded downloads: one file from an http(s) URL, a ``file://`` URL or a local path.

Every download has limits (``Limits``): connect/read timeouts, a total deadline (so a
server trickling a byte at a time is cut off), a size cap checked against
Content-Length up front and while streaming, and retries with exponential backoff
for failures that may pass (connection errors, timeouts, 5xx, 429, a dropped body),
never for 4xx. Redirects are followed by hand and may never change the scheme.
Conditional requests (If-None-Match / If-Modified-Since) turn an unchanged file into
``Fetched(status="not-modified")``.

A host that cannot be reached at all (no such name, connection refused, no answer to
the connection) fails at once with ``UnreachableError``, without retries: the next try,
and the next file from the same host, would fail the same way.

Failures are ``DataError`` naming the URL (without credentials) and what went wrong.
"""

from __future__ import annotations

import stat
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Literal, Mapping

import requests
import urllib3.exceptions

from ..core.errors import ConfigError, DataError, UnreachableError
from ..core.galaxy import DataLimits

MAX_REDIRECTS = 5
CHUNK = 64 * 1024
_REDIRECTS = frozenset({301, 302, 303, 307, 308})

# (label, bytes so far, total or None when unknown)
Progress = Callable[[str, int, int | None], None]


@dataclass(frozen=True, slots=True)
class Limits:
    timeout: float = 30.0               # seconds to connect, and between two reads
    max_bytes: int = 100 * 1024 * 1024  # per file, after decompression
    retries: int = 3                    # further tries after the first
    backoff: float = 1.0                # first pause between tries; doubles each time
    deadline: float | None = None       # whole download; None: 10 x timeout
    verify: bool | str = True           # TLS: True, False (explicitly insecure) or a CA bundle path
    data: DataLimits = DataLimits()     # what a fetched galaxy file may hold (checked by its reader)
    until: float | None = None          # time.monotonic() by which the whole update must be done

    @property
    def total(self) -> float:
        """Seconds one download may take: its own deadline, or what is left of the update's."""
        own = self.deadline if self.deadline is not None else 10 * self.timeout
        return own if self.until is None else max(0.0, min(own, self.until - time.monotonic()))


@dataclass(frozen=True, slots=True)
class Fetched:
    status: Literal["ok", "not-modified"]
    url: str                            # where it finally came from, without credentials or query
    body: bytes | None = None
    etag: str | None = None
    last_modified: str | None = None


class _Transient(DataError):
    """A failure another try may cure (internal: becomes a DataError after the last try)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def location_kind(location: str) -> Literal["http", "file"]:
    """``http`` for http(s) URLs, ``file`` for file:// URLs and paths; anything else is refused."""
    scheme = urllib.parse.urlsplit(location).scheme.lower()
    if scheme in ("http", "https"):
        return "http"
    if scheme == "file" or "://" not in location:
        return "file"
    raise ConfigError("only https://, http://, file:// URLs or local paths are allowed", field=display(location))


def local_path(location: str) -> Path:
    parts = urllib.parse.urlsplit(location)
    if parts.scheme.lower() != "file":
        return Path(location).expanduser()
    if parts.netloc not in ("", "localhost"):
        raise ConfigError("file:// URLs must name a local file (file:///path)", field=location)
    return Path(urllib.request.url2pathname(parts.path))


def join(base: str, relative: str) -> str:
    """``base`` (URL or folder) + ``clusters/x.json``."""
    if location_kind(base) == "http" or base.lower().startswith("file:"):
        return base.rstrip("/") + "/" + urllib.parse.quote(relative)
    return str(Path(base).expanduser() / relative)


def display(url: str) -> str:
    """A URL fit for messages and manifests: no user:password, no query (tokens live there)."""
    parts = urllib.parse.urlsplit(url)
    if not parts.scheme or parts.scheme.lower() not in ("http", "https"):
        return url
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port:
        netloc += f":{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def fetch(location: str, limits: Limits = Limits(), *, validators: Mapping[str, str] | None = None,
          progress: Progress | None = None, session: requests.Session | None = None) -> Fetched:
    """Download ``location`` within ``limits``; ``validators`` (etag, last_modified) make it conditional."""
    if location_kind(location) == "file":
        return _read_local(location, limits, progress)
    own = session is None
    http = session or requests.Session()
    tries = 0
    try:
        while True:
            if limits.total <= 0:
                raise DataError("not fetched: the update's overall deadline (sources.deadline) has passed",
                                field=display(location))
            tries += 1
            if progress is not None:
                progress(display(location), 0, None)    # on a terminal: which file, before any byte arrives
            try:
                return _attempt(http, location, limits, validators or {}, progress)
            except _Transient as exc:
                if tries > limits.retries:
                    after = f" after {tries} tries" if tries > 1 else ""
                    raise DataError(f"{exc.message}{after}", field=display(location)) from None
                pause = limits.backoff * 2 ** (tries - 1)
                time.sleep(min(max(pause, exc.retry_after or 0.0), limits.total))
    finally:
        if own:
            http.close()


def _attempt(http: requests.Session, location: str, limits: Limits, validators: Mapping[str, str],
             progress: Progress | None) -> Fetched:
    from ..version import __version__

    headers = {"User-Agent": f"misp-actor-enrich/{__version__}"}
    if validators.get("etag"):
        headers["If-None-Match"] = validators["etag"]
    if validators.get("last_modified"):
        headers["If-Modified-Since"] = validators["last_modified"]
    scheme = urllib.parse.urlsplit(location).scheme.lower()
    started = time.monotonic()
    allowed = limits.total          # this download's deadline, or what is left of the update's
    url = location
    for _ in range(MAX_REDIRECTS + 1):
        response = _get(http, url, headers, limits)
        with response:
            if response.status_code in _REDIRECTS and response.headers.get("Location"):
                target = urllib.parse.urljoin(url, response.headers["Location"])
                if urllib.parse.urlsplit(target).scheme.lower() != scheme:
                    raise DataError(f"redirect from {scheme} to {urllib.parse.urlsplit(target).scheme or '?'} "
                                    f"refused ({display(target)})", field=display(location))
                url = target
                continue
            if response.status_code == 304 and validators:
                return Fetched("not-modified", display(url), None, validators.get("etag"),
                               validators.get("last_modified"))
            if response.status_code >= 500 or response.status_code == 429:
                raise _Transient(f"HTTP {response.status_code}", _retry_after(response))
            if response.status_code != 200:
                raise DataError(f"HTTP {response.status_code} {response.reason or ''}".rstrip(),
                                field=display(url))
            body = _read_body(response, limits, started, allowed, progress, display(url))
            return Fetched("ok", display(url), body, response.headers.get("ETag"),
                           response.headers.get("Last-Modified"))
    raise DataError(f"more than {MAX_REDIRECTS} redirects", field=display(location))


def _get(http: requests.Session, url: str, headers: Mapping[str, str], limits: Limits) -> requests.Response:
    try:
        return http.get(url, headers=dict(headers), stream=True, allow_redirects=False,
                        timeout=(limits.timeout, limits.timeout), verify=limits.verify)
    except requests.exceptions.SSLError as exc:      # a certificate problem does not pass by retrying
        raise DataError(f"TLS verification failed: {_reason(exc)}", field=display(url)) from None
    except requests.RequestException as exc:
        if (why := unreachable(exc, limits.timeout)) is not None:
            raise UnreachableError(why, field=display(url)) from None
        if isinstance(exc, requests.Timeout):
            raise _Transient(f"timed out after {limits.timeout:g} s") from None
        if isinstance(exc, requests.ConnectionError):
            raise _Transient(f"connection failed: {_reason(exc)}") from None
        raise DataError(f"request failed: {_reason(exc)}", field=display(url)) from None


def unreachable(exc: BaseException, timeout: float) -> str | None:
    """Why the host cannot be reached at all (retrying now will not help), or None for a failure that may pass.

    A name that does not resolve, a refused connection and a connection not accepted
    within the timeout (TCP has already retried it) are final; a read that stalls or a
    connection dropped mid-answer may pass.
    """
    if isinstance(exc, requests.ConnectTimeout):
        return f"no answer: the connection was not accepted within {timeout:g} s"
    if not isinstance(exc, requests.ConnectionError) or isinstance(exc, requests.exceptions.SSLError):
        return None
    inner = exc.args[0] if exc.args else None
    reason = getattr(inner, "reason", inner)
    if isinstance(reason, urllib3.exceptions.NameResolutionError):
        return f"cannot resolve the host name ({_os_reason(reason)})"
    if isinstance(reason, urllib3.exceptions.NewConnectionError):
        return f"cannot connect ({_os_reason(reason)})"
    return None


def _os_reason(error: BaseException) -> str:
    cause = error.__cause__
    if isinstance(cause, OSError) and cause.strerror:
        return cause.strerror
    return _reason(error)


def _read_body(response: requests.Response, limits: Limits, started: float, allowed: float,
               progress: Progress | None, label: str) -> bytes:
    declared = response.headers.get("Content-Length", "")
    expected = int(declared) if declared.isdigit() else None
    if expected is not None and expected > limits.max_bytes:
        raise DataError(f"body larger than {limits.max_bytes} bytes (Content-Length {expected})", field=label)
    encoded = response.headers.get("Content-Encoding", "identity").lower() not in ("", "identity")
    raw = response.raw
    chunks: list[bytes] = []
    got = 0
    while True:
        if time.monotonic() - started > allowed:
            raise DataError(f"download too slow: not finished after {allowed:g} s "
                            f"({got} bytes so far)", field=label)
        try:
            # read1: at most one socket read, so the deadline is checked however slowly bytes drip in
            chunk = raw.read1(CHUNK, decode_content=True)
        except urllib3.exceptions.ReadTimeoutError:
            raise _Transient(f"timed out after {limits.timeout:g} s") from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            sent = raw.tell() if encoded else got
            if expected is not None and sent < expected:
                raise _Transient(f"body truncated: got {sent} of {expected} bytes") from None
            raise _Transient(f"connection broken: {_short(exc)}") from None
        if not chunk:
            break
        got += len(chunk)
        if got > limits.max_bytes:
            raise DataError(f"body larger than {limits.max_bytes} bytes", field=label)
        chunks.append(chunk)
        if progress is not None:
            progress(label, got, None if encoded else expected)
    sent = raw.tell() if encoded else got
    if expected is not None and sent < expected:
        raise _Transient(f"body truncated: got {sent} of {expected} bytes")
    return b"".join(chunks)


def _read_local(location: str, limits: Limits, progress: Progress | None) -> Fetched:
    path = local_path(location)
    try:
        info = path.stat()
        size = info.st_size
        if stat.S_ISDIR(info.st_mode):
            raise DataError("is a folder, not a file", field=str(path))
        if not stat.S_ISREG(info.st_mode):     # a FIFO or a device would block the update forever
            raise DataError("not a regular file", field=str(path))
        if size > limits.max_bytes:
            raise DataError(f"file larger than {limits.max_bytes} bytes ({size})", field=str(path))
        with path.open("rb") as handle:
            body = handle.read(limits.max_bytes + 1)
    except FileNotFoundError:
        raise DataError("no such file", field=str(path)) from None
    except OSError as exc:
        raise DataError(f"cannot read: {exc.strerror or exc}", field=str(path)) from None
    if len(body) > limits.max_bytes:
        raise DataError(f"file larger than {limits.max_bytes} bytes", field=str(path))
    if progress is not None:
        progress(str(path), len(body), len(body))
    return Fetched("ok", str(path), body)


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    return min(float(value), 60.0) if value.isdigit() else None


def _reason(exc: BaseException) -> str:
    # requests wraps urllib3's MaxRetryError, whose text repeats the path and query
    # (where tokens live); its ``reason`` is the readable part.
    inner = exc.args[0] if exc.args else exc
    reason = getattr(inner, "reason", None) or inner
    text = " ".join(str(reason).split()) or type(exc).__name__
    text = text.split(": ", 1)[1] if text.startswith(("HTTPConnection(", "HTTPSConnection(")) and ": " in text \
        else text
    return text if len(text) <= 200 else text[:197] + "..."


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."
