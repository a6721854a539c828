"""The README says what the code does: first commands, config keys, and JSON that parses."""

from __future__ import annotations

import json
import re

from conftest import ROOT

from misp_actor_enrich.core.settings import MODULE_CONFIG

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_first_lines_give_the_two_commands() -> None:
    head = "\n".join(README.splitlines()[:12])
    assert "make serve" in head and "make test" in head


def test_every_config_key_is_documented() -> None:
    for key in MODULE_CONFIG:
        assert f"| `{key}` |" in README, key


def test_json_examples_parse() -> None:
    blocks = re.findall(r"```json\n(.*?)```", README, flags=re.S)
    assert blocks
    for block in blocks:
        json.loads(block)


def test_python_snippets_import_what_exists() -> None:
    """Every `from misp_actor_enrich... import ...` line in the README names something that exists."""
    import importlib

    lines = re.findall(r"^from (misp_actor_enrich[\w.]*) import ([\w, ]+)$", README, flags=re.M)
    assert lines
    for module_name, names in lines:
        module = importlib.import_module(module_name)
        for name in names.split(","):
            assert hasattr(module, name.strip()), f"{module_name}.{name.strip()}"


def test_documented_exit_codes_are_the_codes() -> None:
    from misp_actor_enrich.cli import enrich_events, serve

    table = dict(re.findall(r"^\| (\d) \| (.+) \|$", README, flags=re.M))
    assert table[str(enrich_events.EXIT_AUTH)].startswith("MISP refused the API key")
    assert table[str(enrich_events.EXIT_PERMISSION)].startswith("the key's user may not change events")
    assert table[str(enrich_events.EXIT_NOT_FOUND)].startswith("an `--event` does not exist")
    assert table[str(enrich_events.EXIT_NOTHING)].startswith("nothing selected")
    assert f"{serve.EXIT_IN_USE} the address is already in use" in " ".join(README.split())
