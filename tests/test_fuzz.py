"""Property-based probes (Hypothesis) of everything a user or an admin can hand the module.

The property, whatever the content: an answer (``{"results": {...}}``) or one clean error
(``{"error": "..."}``: one line, at most 300 characters), never an exception, and a bounded cost.
The bounds stated here are for one request on the shipped data, on a slow CI machine: 2 s and
200 MB (Python allocations, measured with tracemalloc); the real figures are far below (the
benchmarks print them). They catch blow-ups (quadratic work, candidate generators that explode),
not slowness: timing is the benchmarks' business.

Examples are derandomised so that a failure reproduces on every machine.
"""

from __future__ import annotations

import copy
import json
import time
import tracemalloc
from pathlib import Path
from typing import Any, Callable

import pytest
from conftest import load_payload
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from misp_actor_enrich.core.errors import ConfigError
from misp_actor_enrich.core.knowledge import Knowledge
from misp_actor_enrich.data import overrides_file, site_config
from misp_actor_enrich.misp import module

SECONDS = 2.0
BYTES = 200 * 1024 * 1024
FUZZ = settings(max_examples=120, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
PAYLOADS = ["a_ui_attribute_enrichment.json", "b_hover.json", "c1_enrich_event_rest_or_workflow_unfiltered.json",
            "c2_enrich_event_workflow_filtered.json", "d_workflow_attach_enrichment.json",
            "d_workflow_attach_enrichment_module_without_config.json", "e_object_enrichment.json"]

# Characters that stress normalisation and matching: NFKC expanders (U+FDFA is 18 characters
# after NFKC), zero-width and bidi controls, fullwidth letters, combining marks, scripts the
# galaxies use, separators the qualifier tier splits on.
TRICKY = "\ufdfa\u3392\u2163\ufb03\u200b\u200d\u202e\ufeffＡＰＴ３７\u0301\u0308金正恩ã( )[]/|;,-_.aka "
names = st.sampled_from(["Reaper", "APT37", "apt-37", "Fancy Bear", "Grizzly Steppe", "Andariel", "Lazarus",
                         "the Kimsuky group", "Turla (Russia)", "Cozy Bear / APT29", "ScarKruft", "Silence",
                         "Cobalt Strike", "IoT Reaper", "APT3", "G0067", "TA505"])
texts = st.text(alphabet=st.sampled_from(TRICKY) | st.characters(), max_size=300)
values = st.one_of(texts, names, st.lists(names | texts, max_size=8).map(" ".join),
                   st.integers(1, 600).map(lambda n: "\ufdfa" * n))
json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=12)


def _probe(call: Callable[[], Any]) -> Any:
    tracemalloc.start()
    started = time.perf_counter()
    try:
        result = call()
    finally:
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert elapsed < SECONDS, f"took {elapsed:.2f} s"
    assert peak < BYTES, f"allocated {peak / 2**20:.0f} MiB"
    return result


def _check_answer(body: Any) -> None:
    assert isinstance(body, dict) and len(body) == 1, body
    json.dumps(body)
    if "error" in body:
        error = body["error"]
        assert isinstance(error, str) and error and "\n" not in error and len(error) <= 300, error
        assert "Traceback" not in error and "failed unexpectedly" not in error, error
    else:
        assert isinstance(body["results"], dict)


@pytest.fixture(scope="module", autouse=True)
def _shipped_data(bundled: Knowledge) -> None:
    """Build the data once, outside the per-request bounds."""
    bundled.scanner.scan("APT37")


@FUZZ
@given(name=st.sampled_from(PAYLOADS), value=values, kind=st.sampled_from(["threat-actor", "text", "comment"]))
def test_any_value_in_any_request_shape(name: str, value: str, kind: str) -> None:
    request = copy.deepcopy(load_payload(name))
    if "attribute" in request:
        request["attribute"].update(type=kind, value=value)
        request["attribute"].pop("value1", None)
    else:
        request["object"]["Attribute"][0]["value"] = value
    _check_answer(_probe(lambda: module.dict_handler(request)))


@FUZZ
@given(name=st.sampled_from(PAYLOADS), path=st.sampled_from([
    ("attribute",), ("attribute", "type"), ("attribute", "value"), ("attribute", "uuid"), ("attribute", "Tag"),
    ("attribute", "AttributeTag"), ("attribute", "_allTags"), ("attribute", "object_id"), ("config",),
    ("config", "galaxy_types"), ("config", "max_links"), ("config", "detail"), ("config", "tag_suggestions_above"),
    ("event_id",), ("object",), ("object", "Attribute"), ("user",)]), replacement=json_values)
def test_any_field_replaced_by_any_json(name: str, path: tuple[str, ...], replacement: Any) -> None:
    request = copy.deepcopy(load_payload(name))
    target = request
    for key in path[:-1]:
        target = target.setdefault(key, {}) if isinstance(target.get(key), dict) or key not in target else target[key]
    if isinstance(target, dict):
        target[path[-1]] = replacement
    _check_answer(_probe(lambda: module.dict_handler(request)))


@FUZZ
@given(value=st.sampled_from(["Reaper", "Fancy Bear"]), count=st.integers(0, 40_000),
       shape=st.sampled_from(["Tag", "AttributeTag", "_allTags"]))
def test_tens_of_thousands_of_tags(value: str, count: int, shape: str) -> None:
    request = copy.deepcopy(load_payload("c1_enrich_event_rest_or_workflow_unfiltered.json"))
    tags = [{"name": f"custom:tag-{i % 5000}"} for i in range(count)]
    request["attribute"][shape] = [{"Tag": t} for t in tags] if shape == "AttributeTag" else tags
    _check_answer(_probe(lambda: module.dict_handler(request)))


@FUZZ
@given(body=st.one_of(st.binary(max_size=200), texts.map(str.encode), json_values.map(lambda v: json.dumps(v).encode())))
def test_any_raw_body(body: bytes) -> None:
    _check_answer(_probe(lambda: module.handler(body)))


@FUZZ
@given(words=st.lists(names | st.sampled_from(["group", "malware", "attacked", "banks", "known as", "(", ")", ",",
                                               "https://example.org/APT37", "\n", "Havana", "Cuba"]) | texts,
                      max_size=60))
def test_any_text(words: list[str]) -> None:
    request = copy.deepcopy(load_payload("a_ui_attribute_enrichment.json"))
    request["attribute"].update(type="text", value=" ".join(words) or "x")
    _check_answer(_probe(lambda: module.dict_handler(request)))


yaml_texts = st.one_of(
    st.text(max_size=200),
    st.lists(st.sampled_from(["misp:", "  url: x", "module:", "  max_links: 3", "  galaxy_types: [a, b]",
                              "sources:", "  timeout: 1e9", "cache:", "  dir: /tmp", "aliases:", "  APT37: [x]",
                              "ignore:", "  - {name: Lazarus, actor: Lazarus Group}", "pins:", "  a: b", "!custom x",
                              "&a [*a, *a]", "- *a", "? [a]", "  : b", "key: !!python/object:os.system x",
                              "\t", "'", '"', "{", "[", "]"]), max_size=12).map("\n".join))


@FUZZ
@given(text=yaml_texts)
def test_any_site_file(text: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    path = Path("site.yaml")
    for parse in (site_config.parse, overrides_file.parse):
        try:
            _probe(lambda parse=parse: parse(text, path))     # type: ignore[misc]
        except ConfigError as exc:
            assert str(exc) and "Traceback" not in str(exc)
