"""Strict YAML for the site's files: safe loading, and node helpers whose errors name file, line and key.

Shared by ``site_config`` (config.yaml) and ``overrides_file`` (overrides.yaml). Every way a
file can be wrong is a ``ConfigError`` naming the file (and the line where there is one), so a
caller keeps its last good state: not YAML, a tag no safe loader knows (``!custom``), anchors
and aliases (a site file has no use for them, and an alias bomb costs seconds and gigabytes),
nesting too deep, a file that is not a regular file (a FIFO would block), or too large.
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import yaml

from ..core.errors import ConfigError

MAX_FILE_BYTES = 1024 * 1024          # a site's config or overrides is a few kB
MAX_DEPTH = 20


def read_site_file(path: Path) -> str:
    """The text of a site file, refused when it is not a regular file, too large, or not UTF-8."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError("not a regular file", field=str(path))
        if info.st_size > MAX_FILE_BYTES:
            raise ConfigError(f"is {info.st_size} bytes; a site file is at most {MAX_FILE_BYTES}", field=str(path))
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise ConfigError(f"is over {MAX_FILE_BYTES} bytes; a site file is at most that", field=str(path))
        return data.decode("utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", field=str(path)) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", field=str(path)) from exc


def compose(text: str, path: Path) -> yaml.Node | None:
    """The YAML node tree (safe loader), keeping line numbers for errors."""
    try:
        depth = 0
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            where = f"{path}:{event.start_mark.line + 1}" if event.start_mark else str(path)
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                raise ConfigError("anchors and aliases (&name, *name) are not allowed in a site file", field=where)
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    raise ConfigError(f"nested deeper than {MAX_DEPTH} levels", field=where)
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
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
        try:
            return yaml.SafeLoader("").construct_document(node)
        except yaml.YAMLError as exc:      # a tag the safe loader does not know: !custom, !!python/...
            problem = " ".join(str(getattr(exc, "problem", None) or exc).split())
            raise ConfigError(f"not a plain YAML value: {problem}",
                              field=f"{self.path}:{node.start_mark.line + 1}") from None

    def string(self, node: yaml.Node, key: str) -> str | None:
        value = self.value(node)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise self.error(node, key, f"expected a string, got {type(value).__name__}")
        return value.strip()
