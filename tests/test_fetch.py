"""Bounded downloads against a real loopback HTTP server (tests/http_standin.py) and local files."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
from http_standin import HttpStandIn

from misp_actor_enrich.core.errors import ConfigError, DataError, UnreachableError
from misp_actor_enrich.data.fetch import Limits, display, fetch, join, location_kind

ROOT = Path(__file__).resolve().parent.parent / "fixtures" / "update" / "misp-galaxy"
FILE = "/clusters/threat-actor.json"
FAST = Limits(timeout=0.3, max_bytes=100_000, retries=2, backoff=0.01, deadline=1.0)


@pytest.fixture
def server() -> Iterator[HttpStandIn]:
    with HttpStandIn(ROOT) as standin:
        yield standin


def test_normal_download_then_not_modified(server: HttpStandIn) -> None:
    got = fetch(server.url + FILE, FAST)
    assert got.status == "ok" and got.body == (ROOT / FILE.lstrip("/")).read_bytes()
    assert got.etag and got.last_modified
    again = fetch(server.url + FILE, FAST, validators={"etag": got.etag, "last_modified": got.last_modified or ""})
    assert again.status == "not-modified" and again.body is None and again.etag == got.etag
    assert server.requests[-1].if_none_match == got.etag


def test_5xx_is_retried_then_succeeds(server: HttpStandIn) -> None:
    server.set(FILE, "status", code=503, times=2)
    assert fetch(server.url + FILE, FAST).status == "ok"
    assert server.paths().count(FILE) == 3


def test_5xx_gives_up_after_the_retries(server: HttpStandIn) -> None:
    server.set(FILE, "status", code=503)
    with pytest.raises(DataError, match="HTTP 503 after 3 tries"):
        fetch(server.url + FILE, FAST)


def test_4xx_is_not_retried(server: HttpStandIn) -> None:
    with pytest.raises(DataError, match="HTTP 404"):
        fetch(server.url + "/clusters/nope.json", FAST)
    assert server.paths() == ["/clusters/nope.json"]


def test_a_server_that_never_answers_times_out(server: HttpStandIn) -> None:
    server.set(FILE, "hang")
    started = time.monotonic()
    with pytest.raises(DataError, match=r"timed out after 0.3 s after 2 tries"):
        fetch(server.url + FILE, Limits(timeout=0.3, retries=1, backoff=0.01))
    assert time.monotonic() - started < 2


def test_truncated_body(server: HttpStandIn) -> None:
    server.set(FILE, "truncate", sent=120)
    size = (ROOT / FILE.lstrip("/")).stat().st_size
    with pytest.raises(DataError, match=f"body truncated: got 120 of {size} bytes"):
        fetch(server.url + FILE, FAST)


def test_oversized_by_content_length_is_refused_before_reading(server: HttpStandIn) -> None:
    server.set(FILE, "body", body=b"x" * 5000)
    with pytest.raises(DataError, match=r"body larger than 1024 bytes \(Content-Length 5000\)"):
        fetch(server.url + FILE, Limits(max_bytes=1024, retries=0))


def test_oversized_without_content_length_is_cut_while_streaming(server: HttpStandIn) -> None:
    server.set(FILE, "unsized", body=b"x" * 300_000)
    with pytest.raises(DataError, match="body larger than 100000 bytes"):
        fetch(server.url + FILE, FAST)


def test_slow_drip_is_cut_at_the_deadline(server: HttpStandIn) -> None:
    server.set(FILE, "drip", interval=0.05)
    started = time.monotonic()
    with pytest.raises(DataError, match=r"download too slow: not finished after 0.5 s"):
        fetch(server.url + FILE, Limits(timeout=0.3, retries=3, backoff=0.01, deadline=0.5))
    assert time.monotonic() - started < 1.5      # never retried: another try would drip just as slowly


def test_redirect_within_the_scheme_is_followed(server: HttpStandIn) -> None:
    server.set("/moved.json", "redirect", location=FILE)
    got = fetch(server.url + "/moved.json", FAST)
    assert got.status == "ok" and got.url == server.url + FILE


def test_redirect_to_another_scheme_is_refused(server: HttpStandIn) -> None:
    server.set("/moved.json", "redirect", location="https://127.0.0.1:1/clusters/threat-actor.json")
    with pytest.raises(DataError, match="redirect from http to https refused"):
        fetch(server.url + "/moved.json", FAST)
    server.set("/local.json", "redirect", location="file:///etc/passwd")
    with pytest.raises(DataError, match="redirect from http to file refused"):
        fetch(server.url + "/local.json", FAST)


def test_endless_redirects_stop(server: HttpStandIn) -> None:
    server.set("/loop.json", "redirect", location="/loop.json")
    with pytest.raises(DataError, match="more than 5 redirects"):
        fetch(server.url + "/loop.json", FAST)


def test_credentials_in_a_url_never_appear_in_results_or_errors(server: HttpStandIn) -> None:
    secret = "s3cr3t-token"
    url = server.url.replace("http://", f"http://mirror:{secret}@") + FILE + f"?token={secret}"
    assert secret not in fetch(url, FAST).url
    server.set(FILE, "status", code=500)
    with pytest.raises(DataError) as caught:
        fetch(url, FAST)
    assert secret not in str(caught.value)
    with pytest.raises(DataError) as refused:
        fetch(f"http://mirror:{secret}@127.0.0.1:1/x.json?token={secret}", Limits(timeout=0.2, retries=0))
    assert "cannot connect (Connection refused)" in str(refused.value) and secret not in str(refused.value)


def test_local_files_and_file_urls(tmp_path: Path) -> None:
    path = ROOT / "clusters" / "sector.json"
    assert fetch(str(path), FAST).body == path.read_bytes()
    assert fetch(path.as_uri(), FAST).body == path.read_bytes()
    assert join(str(ROOT), "clusters/sector.json") == str(path)
    assert join(ROOT.as_uri(), "clusters/sector.json") == path.as_uri()
    with pytest.raises(DataError, match="file larger than 100 bytes"):
        fetch(str(path), Limits(max_bytes=100))
    with pytest.raises(DataError, match="no such file"):
        fetch(str(tmp_path / "missing.json"), FAST)
    with pytest.raises(DataError, match="is a folder"):
        fetch(str(tmp_path), FAST)


@pytest.mark.parametrize("location", ["ftp://example.org/x.json", "gopher://x", "javascript://alert"])
def test_only_http_and_local_sources(location: str) -> None:
    with pytest.raises(ConfigError, match="only https://, http://, file://"):
        location_kind(location)
    with pytest.raises(ConfigError):
        fetch(location)


def test_display_strips_credentials_and_queries() -> None:
    url = "https://u:p@mirror.example:8443/galaxy/x.json?token=abc"
    assert display(url) == "https://mirror.example:8443/galaxy/x.json"
    assert display("/srv/galaxy/x.json") == "/srv/galaxy/x.json"


PATIENT = Limits(timeout=5, retries=3, backoff=1.0)   # 7 s of pauses if a failure were retried


def test_a_refused_connection_fails_at_once_without_retries() -> None:
    started = time.monotonic()
    with pytest.raises(UnreachableError, match=r"127.0.0.1:1/x.json: cannot connect \(Connection refused\)$"):
        fetch("http://127.0.0.1:1/x.json", PATIENT)
    assert time.monotonic() - started < 1.0


def test_a_host_name_that_does_not_resolve_fails_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The resolver's answer is injected (tests never query DNS); everything above getaddrinfo is real."""
    def no_such_host(*args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)
    started = time.monotonic()
    with pytest.raises(UnreachableError, match=r"cannot resolve the host name \(Name or service not known\)"):
        fetch("http://galaxy-mirror.test/clusters/threat-actor.json", PATIENT)
    assert time.monotonic() - started < 1.0

