"""The exception root and the few subclasses callers handle differently.

Everything raised inside the package on purpose derives from ``ActorEnrichError``;
``module.dict_handler`` turns it into ``{"error": str(exc)}`` and the CLI into an
exit code, each in one place.
"""

from __future__ import annotations


class ActorEnrichError(Exception):
    """Root of every error this package raises on purpose.

    ``field`` names what was wrong (a request key, a config key, a file) so that the
    message a MISP user sees can say it.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and str(self) == str(other)

    def __hash__(self) -> int:
        return hash((type(self), str(self)))


class InputError(ActorEnrichError):
    """The request (payload, attribute, value) is not something we can answer."""


class ConfigError(ActorEnrichError):
    """A configuration value is invalid."""


class DataError(ActorEnrichError):
    """Galaxy data could not be read or is not galaxy data."""


class UnreachableError(DataError):
    """A server cannot be reached at all (no such host, refused, no answer, TLS): trying again now will not help."""


class AuthenticationError(ActorEnrichError):
    """A server refused our credentials (MISP: the API key)."""


MAX_MESSAGE_LENGTH = 300


def one_line(message: str, limit: int = MAX_MESSAGE_LENGTH) -> str:
    """An error as a user sees it: one line, bounded, whatever value it quotes (a 1 MB config value)."""
    flat = " ".join(message.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
