"""Strict YAML for the site's files: safe loading, and node helpers whose errors name file, line and key.

Shared by ``site_config`` (config.yaml) and ``overrides_file`` (overrides.yaml).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ..core.errors import ConfigError


def compose(text: str, path: Path) -> yaml.Node | None:
    """The YAML node tree (safe loader), keeping line numbers for errors."""
    try:
        node: yaml.Node | None = yaml.compose(text, Loader=yaml.SafeLoader)
        return node
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"not valid YAML: {getattr(exc, 'problem', None) or exc}", field=f"{path}{line}") from None


class YamlContext:
    """Node helpers that know the file, so every error can say where it is (shared with overrides)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.warnings: list[str] = []

    def error(self, node: yaml.Node, key: str, message: str) -> ConfigError:
        return ConfigError(message, field=f"{self.path}:{node.start_mark.line + 1}: {key}")

    def mapping(self, node: yaml.Node, where: str) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null":
            return {}
        if not isinstance(node, yaml.MappingNode):
            raise self.error(node, where or "(top level)", "expected a mapping of keys to values")
        out: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            dotted = f"{where}.{key}" if where else str(key)
            if not isinstance(key, str):
                raise self.error(key_node, where or "(top level)", "keys must be plain names")
            if key in out:
                raise self.error(key_node, dotted, "duplicate key")
            out[key] = (key_node, value_node)
        return out

    def value(self, node: yaml.Node) -> Any:
        return yaml.SafeLoader("").construct_document(node)

    def string(self, node: yaml.Node, key: str) -> str | None:
        value = self.value(node)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise self.error(node, key, f"expected a string, got {type(value).__name__}")
        return value.strip()
