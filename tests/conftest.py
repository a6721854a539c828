"""Shared fixtures: the hand-made mini galaxy, the real data sets, request payloads, no network.

Two real data sets: the misp-galaxy data bundled in the package (the default, ``bundled``)
and the older copy inside pymispgalaxies 1.1.1 (``older``, a test dependency). Tests that
must hold on any real data take ``real``, which runs them on both.
"""

from __future__ import annotations

import copy
import json
import os
import socket
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from misp_actor_enrich.core.knowledge import Knowledge
from misp_actor_enrich.core.vocabulary import Vocabulary
from misp_actor_enrich.data import runtime
from misp_actor_enrich.data.store import load_knowledge, pymispgalaxies_data_dir, pymispgalaxies_version

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
MINI_GALAXY = FIXTURES / "galaxy"
# MISP's real request shapes; a copy lives in fixtures/ so the suite runs from any clone.
PAYLOADS = FIXTURES / "payloads"


# Hermetic: no developer's or CI's own config, cache or overrides leak into the tests.
_HOME = tempfile.mkdtemp(prefix="misp-actor-enrich-tests-")
for _var in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
    os.environ[_var] = os.path.join(_HOME, _var.lower())
os.environ.pop("MISP_ACTOR_ENRICH_CONFIG", None)


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests may talk to servers they start on loopback, nothing else."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and not (host.startswith("127.") or host in {"localhost", "::1"}) \
                and self.family in (socket.AF_INET, socket.AF_INET6):
            raise RuntimeError(f"test tried to reach {host}: tests use loopback only")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


def load_vocab_fixture(name: str) -> Any:
    """One hand-made vocabulary galaxy from fixtures/vocab."""
    return json.loads((FIXTURES / "vocab" / f"{name}.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def vocab() -> Vocabulary:
    """Targeting vocabulary over the hand-made galaxies in fixtures/vocab."""
    return Vocabulary.from_galaxy_clusters(
        load_vocab_fixture("target-information"), load_vocab_fixture("sector"), load_vocab_fixture("region"))


@pytest.fixture(scope="session")
def mini() -> Knowledge:
    """Knowledge over the hand-made galaxy in fixtures/galaxy."""
    return load_knowledge(MINI_GALAXY, label="fixture")


@pytest.fixture(scope="session")
def bundled() -> Knowledge:
    """Knowledge over the misp-galaxy data bundled in the package (the default)."""
    return runtime.current()


@pytest.fixture(scope="session")
def older() -> Knowledge:
    """Knowledge over the older misp-galaxy copy inside pymispgalaxies (threat-actor v336)."""
    return load_knowledge(pymispgalaxies_data_dir(), label=f"pymispgalaxies {pymispgalaxies_version()}")


@pytest.fixture(scope="session", params=["bundled", "older"])
def real(request: pytest.FixtureRequest) -> Knowledge:
    """Each real data set in turn: the bundled (current) one and pymispgalaxies' older one."""
    knowledge: Knowledge = request.getfixturevalue(request.param)
    return knowledge


@pytest.fixture
def use_mini(mini: Knowledge) -> Iterator[Knowledge]:
    """Make the module answer from the mini galaxy for one test."""
    runtime.install(mini)
    yield mini
    runtime.install(None)


def load_payload(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PAYLOADS / name).read_text())
    return data


@pytest.fixture
def payload() -> Callable[..., dict[str, Any]]:
    """A payload file as a fresh dict, optionally with another value and config."""
    def make(name: str = "a_ui_attribute_enrichment.json", value: Any = ..., config: Any = ...) -> dict[str, Any]:
        data = copy.deepcopy(load_payload(name))
        if value is not ...:
            data["attribute"]["value"] = value
            data["attribute"].pop("value1", None)
        if config is not ...:
            if config is None:
                data.pop("config", None)
            else:
                data["config"] = config
        return data
    return make
