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
