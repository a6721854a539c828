"""overrides.yaml -> ``SiteOverrides``: strict reading, every error naming file, line and key.

What the sections mean and how they apply is in ``core.overrides``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ..core.names import clean, normalise
from ..core.overrides import TARGETING_FIELDS, PrivateActor, SiteOverrides
from .yaml_file import YamlContext, compose, read_site_file


def load(path: Path) -> SiteOverrides:
    return parse(read_site_file(path), path)


def parse(text: str, path: Path) -> SiteOverrides:
    root = compose(text, path)
    if root is None:
        return SiteOverrides(path=path)
    ctx = YamlContext(path)
    values: dict[str, Any] = {"path": path}
    for key, (key_node, node) in ctx.mapping(root, "").items():
        if key == "aliases":
            values["aliases"] = {ref: _names(ctx, names_node, f"aliases.{ref}")
                                 for ref, (_, names_node) in ctx.mapping(node, "aliases").items()}
        elif key == "ignore":
            values["ignore"] = tuple(_ignore_entry(ctx, item) for item in _sequence(ctx, node, "ignore"))
        elif key == "pins":
            values["pins"] = {_name(ctx, k_node, f"pins.{name}", name): _ref(ctx, v_node, f"pins.{name}")
                              for name, (k_node, v_node) in ctx.mapping(node, "pins").items()}
        elif key == "actors":
            values["actors"] = tuple(_private_actor(ctx, item, f"actors[{i}]")
                                     for i, item in enumerate(_sequence(ctx, node, "actors")))
        elif key == "targeting":
            values["targeting"] = {ref: _targeting(ctx, t_node, f"targeting.{ref}")
                                   for ref, (_, t_node) in ctx.mapping(node, "targeting").items()}
        else:
            raise ctx.error(key_node, key, "unknown section; known sections are aliases, ignore, pins, actors, targeting")
    return SiteOverrides(**values)


# --- strict parsing ------------------------------------------------------------


def _sequence(ctx: YamlContext, node: yaml.Node, key: str) -> list[yaml.Node]:
    if not isinstance(node, yaml.SequenceNode):
        raise ctx.error(node, key, "expected a list")
    return list(node.value)


def _name(ctx: YamlContext, node: yaml.Node, key: str, raw: Any) -> str:
    if not isinstance(raw, str) or not normalise(raw):
        raise ctx.error(node, key, "expected a name with letters or digits")
    return clean(raw)


def _ref(ctx: YamlContext, node: yaml.Node, key: str) -> str:
    return _name(ctx, node, key, ctx.value(node))


def _names(ctx: YamlContext, node: yaml.Node, key: str) -> tuple[str, ...]:
    raw = ctx.value(node)
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list) or not items:
        raise ctx.error(node, key, "expected a name or a list of names")
    return tuple(dict.fromkeys(_name(ctx, node, key, item) for item in items))


def _ignore_entry(ctx: YamlContext, node: yaml.Node) -> tuple[str, str | None]:
    if isinstance(node, yaml.ScalarNode):
        return _name(ctx, node, "ignore", ctx.value(node)), None
    fields = ctx.mapping(node, "ignore")
    unknown = set(fields) - {"name", "actor"}
    if unknown or "name" not in fields:
        bad = sorted(unknown)[0] if unknown else "name"
        node_at = fields[bad][0] if unknown else node
        raise ctx.error(node_at, f"ignore.{bad}", "expected name (and optionally actor)")
    name = _ref(ctx, fields["name"][1], "ignore.name")
    return name, (_ref(ctx, fields["actor"][1], "ignore.actor") if "actor" in fields else None)


def _targeting(ctx: YamlContext, node: yaml.Node, key: str) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for name, (k_node, v_node) in ctx.mapping(node, key).items():
        if name not in TARGETING_FIELDS:
            raise ctx.error(k_node, f"{key}.{name}", f"unknown targeting; known are {', '.join(TARGETING_FIELDS)}")
        out[TARGETING_FIELDS[name]] = _names(ctx, v_node, f"{key}.{name}")
    return out


def _private_actor(ctx: YamlContext, node: yaml.Node, key: str) -> PrivateActor:
    fields = ctx.mapping(node, key)
    values: dict[str, Any] = {}
    for name, (k_node, v_node) in fields.items():
        dotted = f"{key}.{name}"
        if name == "name":
            values["name"] = _ref(ctx, v_node, dotted)
        elif name == "aliases":
            values["aliases"] = _names(ctx, v_node, dotted)
        elif name == "description":
            values["description"] = ctx.string(v_node, dotted) or ""
        elif name == "same_as":
            values["same_as"] = _ref(ctx, v_node, dotted)
        elif name == "targeting":
            values["targeting"] = _targeting(ctx, v_node, dotted)
        else:
            raise ctx.error(k_node, dotted, "unknown key; known keys are name, aliases, description, same_as, targeting")
    if "name" not in values:
        raise ctx.error(node, f"{key}.name", "missing")
    return PrivateActor(**values)
