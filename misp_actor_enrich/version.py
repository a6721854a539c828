"""The package version: a leaf module every layer may import (user agents, misp-modules metadata)."""

__version__ = "0.1.0"
