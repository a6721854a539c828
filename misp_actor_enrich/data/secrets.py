"""Secrets out of everything printed or stored: the MISP API key in any form, credentials in URLs.

A MISP (or a proxy in front of it) may echo the key back in another form than it was sent:
lower or upper case, base64 (an ``Authorization: Basic`` header quoted in an error page),
percent-encoded. ``Redactor`` masks every such form, and any ``user:password@`` or token-like
query parameter of a URL, in a text about to be printed or written to a report, state file or
manifest. ``safe_url`` is the form of a URL fit to keep.
"""

from __future__ import annotations

import base64
import re
import urllib.parse
from typing import Iterable

MASK = "***"
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]+@")
_SECRET_PARAM = re.compile(r"(?i)([?&;][^=&;#\s]*(?:token|key|secret|pass|auth|sig|session|cred)[^=&;#\s]*=)"
                           r"[^&;#\s:,)\]]+")


def key_forms(secret: str) -> tuple[str, ...]:
    """The forms a secret may come back in, longest first (so a longer form is masked whole)."""
    raw = secret.encode()
    forms = {secret, secret.lower(), secret.upper(), urllib.parse.quote(secret, safe=""),
             base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()}
    forms |= {f.rstrip("=") for f in list(forms)}
    return tuple(sorted((f for f in forms if len(f) >= 8), key=len, reverse=True))


class Redactor:
    """Masks the given secrets (in every form) and URL credentials in a text."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._forms: tuple[str, ...] = ()
        self.add(*secrets)

    def add(self, *secrets: str | None) -> None:
        forms = {f for s in secrets if s for f in key_forms(s)} | set(self._forms)
        self._forms = tuple(sorted(forms, key=len, reverse=True))

    def __call__(self, text: str) -> str:
        for form in self._forms:
            if form in text:
                text = text.replace(form, MASK)
        text = _USERINFO.sub(lambda m: m.group(1) + MASK + "@", text)
        return _SECRET_PARAM.sub(lambda m: m.group(1) + MASK, text)


def safe_url(url: str) -> str:
    """A URL without user:password and without token-like query parameters."""
    return Redactor()(url)
