"""The whole answer for a few requests over the mini galaxy, compared with tests/golden/.

uuids are fresh on every answer, so they are replaced by their order of first
appearance before comparing. Regenerate with ``UPDATE_GOLDEN=1 make test`` and
review the diff.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Callable

import pytest

from misp_actor_enrich.core.knowledge import Knowledge
from misp_actor_enrich.misp import module

GOLDEN = Path(__file__).parent / "golden"
INPUT_UUID = "9f2b7c1e-4d3a-4e8b-a6c5-2f1e0d9c8b7a"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def _stable(body: dict[str, Any]) -> str:
    text = json.dumps(body, indent=2, sort_keys=True, ensure_ascii=False)
    seen: dict[str, str] = {INPUT_UUID: "<input-uuid>"}
    return UUID.sub(lambda m: seen.setdefault(m.group(), f"<uuid-{len(seen)}>"), text) + "\n"


@pytest.mark.parametrize(("name", "payload_file", "value", "config"), [
    ("reaper_ui", "a_ui_attribute_enrichment.json", "Reaper", {"galaxy_types": None}),
    ("reaper_hover", "b_hover.json", "Reaper", None),
    ("andariel_ui", "a_ui_attribute_enrichment.json", "Andariel", {"galaxy_types": None}),
    ("guardians_ui", "a_ui_attribute_enrichment.json", "Guardians of Peace", {"galaxy_types": None}),
    ("zinc_workflow", "d_workflow_attach_enrichment.json", "ZINC", {"galaxy_types": None}),
    ("anunak_workflow", "d_workflow_attach_enrichment.json", "Anunak", {"galaxy_types": "threat-actor"}),
])
def test_golden_answers(use_mini: Knowledge, payload: Callable[..., dict[str, Any]], name: str,
                        payload_file: str, value: str, config: Any) -> None:
    body = module.dict_handler(payload(payload_file, value=value, config=config))
    actual = _stable(body)
    path = GOLDEN / f"{name}.json"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(actual)
    assert path.is_file(), f"no golden file {path.name}: run with UPDATE_GOLDEN=1"
    assert actual == path.read_text()
