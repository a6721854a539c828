"""enrich-events and the bulk library, through PyMISP over HTTP against a loopback MISP stand-in.

The stand-in (tests/misp_standin.py) is not MISP: it answers the endpoints PyMISP calls
with MISP's documented shapes and keeps events in memory, so idempotency is real.
"""

from __future__ import annotations

import copy
import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest
from misp_standin import KEY, StandIn
from pymisp import MISPEvent

from misp_actor_enrich.cli import main as cli
from misp_actor_enrich.core.knowledge import Knowledge
from misp_actor_enrich.core.settings import Settings
from misp_actor_enrich.misp.bulk import enrich_event, plan_event

APT37 = 'misp-galaxy:threat-actor="APT37"'
APT28 = 'misp-galaxy:threat-actor="APT28"'
READS = [("GET", "/servers/getVersion"), ("GET", "/users/view/me"), ("GET", "/attributes/describeTypes"),
         ("POST", "/events/restSearch")]


def actor(value: str, **extra: Any) -> dict[str, Any]:
    return {"type": "threat-actor", "category": "Attribution", "value": value, **extra}


@pytest.fixture
def misp(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[StandIn]:
    for name in ("MISP_URL", "MISP_KEY", "MISP_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MISP_KEY", KEY)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))   # no site config file
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    with StandIn() as standin:
        yield standin


class Run:
    def __init__(self, misp: StandIn, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
        self.misp, self.capsys, self.state = misp, capsys, tmp_path / "state.json"

    def __call__(self, *args: str, url: bool = True) -> tuple[int, str, str]:
        argv = ["enrich-events", *(["--url", self.misp.url] if url else []), "--state", str(self.state), *args]
        code = cli.main(argv)
        out, err = self.capsys.readouterr()
        return code, out, err

    def json(self, *args: str) -> tuple[int, dict[str, Any]]:
        code, out, _ = self(*args, "--json")
        report: dict[str, Any] = json.loads(out)
        assert report["exit_code"] == code
        return code, report


@pytest.fixture
def run(misp: StandIn, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> Run:
    return Run(misp, capsys, tmp_path)


def tag_names(holder: dict[str, Any]) -> set[str]:
    return {t["name"] for t in holder["Tag"]}


def test_exact_calls_for_one_event(misp: StandIn, run: Run) -> None:
    event = misp.add_event("Reaper report", [actor("Reaper", distribution="0")])
    reaper = event["Attribute"][0]["uuid"]
    code, _, _ = run("--event", "1")
    assert code == 0
    paths = [(c.method, c.path) for c in misp.calls]
    tags = [("POST", "/tags/attachTagToObject")] * 4
    attributes = [("POST", "/attributes/add/1")] * 4        # canonical APT37 + 3 reference links (max_links)
    assert paths == [*READS, ("GET", "/events/view/1"), *tags, *attributes,
                     ("POST", "/objects/add/1"), ("POST", "/objectReferences/add"),
                     ("POST", "/objects/add/1"), ("POST", "/objectReferences/add")]
    search = misp.calls[3].body
    assert (search["type"], search["eventid"], search["metadata"], search["page"]) == ("threat-actor", ["1"], True, 1)
    assert misp.calls[5].body == {"uuid": event["uuid"], "tag": APT37, "local": False}
    assert {c.body["tag"] for c in misp.writes[:4]} == {APT37, 'misp-galaxy:mitre-intrusion-set="APT37 - G0067"',
                                                        'misp-galaxy:360net-threat-actor="ScarCruft - APT-C-28"',
                                                        'misp-galaxy:groups="APT37"'}
    canonical = misp.writes[4].body
    assert (canonical["type"], canonical["value"], canonical["category"]) == ("threat-actor", "APT37", "Attribution")
    assert APT37 in {t["name"] for t in canonical["Tag"]}
    intrusion_set, victim = misp.event("1")["Object"]
    assert (intrusion_set["name"], victim["name"]) == ("intrusion-set", "victim")
    related, targets = misp.writes[9].body, misp.writes[11].body
    assert (related["object_uuid"], related["referenced_uuid"], related["relationship_type"]) == \
        (intrusion_set["uuid"], reaper, "related-to")
    assert (targets["object_uuid"], targets["referenced_uuid"], targets["relationship_type"]) == \
        (intrusion_set["uuid"], victim["uuid"], "targets")
    assert APT37 in tag_names(misp.event("1"))
    assert all(c.event_id == "1" for c in misp.writes)


def test_a_second_run_changes_nothing(misp: StandIn, run: Run) -> None:
    misp.add_event("Reaper", [actor("Reaper")])
    misp.add_event("Two names, one actor", [actor("Kimsuky"), actor("Velvet Chollima")])
    assert run("--all")[0] == 0
    first = len(misp.writes)
    assert first > 0
    stored = copy.deepcopy(misp.events)
    code, report = run.json("--all")
    assert code == 0 and len(misp.writes) == first and report["writes"] == 0 and report["changes"] == 0
    assert misp.events == stored
    second = misp.event("2")
    assert [o["name"] for o in second["Object"]].count("intrusion-set") == 1   # one actor: objects once


def test_dry_run_writes_nothing_and_shows_exactly_what_a_run_does(misp: StandIn, run: Run) -> None:
    misp.add_event("Reaper", [actor("Reaper")])
    misp.add_event("Grizzly", [actor("Grizzly Steppe")])
    code, text, _ = run("--all", "--dry-run")
    assert code == 1 and misp.writes == []
    _, planned = run.json("--all", "--dry-run")
    assert misp.writes == [] and not run.state.exists()
    changes = [c["summary"] for e in planned["events"] for c in e.get("changes", [])]
    assert [line.strip().removeprefix("would ") for line in text.splitlines() if line.startswith("  would ")] == changes
    _, done = run.json("--all")
    assert [c["summary"] for e in done["events"] for c in e.get("changes", [])] == changes
    assert len(misp.writes) == done["writes"] == len(changes)
    kinds = {"tag": "/tags/attachTagToObject", "attribute": "/attributes/add/", "object": "/objects/add/",
             "reference": "/objectReferences/add"}
    planned_kinds = [c["kind"] for e in planned["events"] for c in e.get("changes", [])]
    assert [next(k for k, p in kinds.items() if w.path.startswith(p)) for w in misp.writes] == planned_kinds


def test_a_failure_on_one_event_keeps_the_others_and_resume_finishes_it(misp: StandIn, run: Run) -> None:
    for name in ("Reaper", "Kimsuky", "Turla"):
        misp.add_event(name, [actor(name)])
    misp.fail_on(lambda call: call.is_write and call.event_id == "2", mode="500")
    code, report = run.json("--all")
    assert code == 3 and report["events_failed"] == 1 and report["errors"][0]["event_id"] == "2"
    state = json.loads(run.state.read_text())
    assert state["done"] == ["1", "3"] and list(state["failed"]) == ["2"] and state["events"] == ["1", "2", "3"]
    assert misp.event("1")["Object"] and misp.event("3")["Object"] and not misp.event("2")["Object"]
    before = len(misp.calls)
    code, report = run.json("--resume")
    resumed = misp.calls[before:]
    assert code == 0 and report["events_already_done"] == 2 and report["events_seen"] == 1
    assert ("POST", "/events/restSearch") not in [(c.method, c.path) for c in resumed]
    assert {c.event_id for c in resumed if c.event_id} == {"2"}
    assert misp.event("2")["Object"]
    assert json.loads(run.state.read_text())["done"] == ["1", "3", "2"]


def test_a_write_applied_but_unanswered_is_not_duplicated_on_resume(misp: StandIn, run: Run) -> None:
    misp.add_event("Reaper", [actor("Reaper")])
    misp.fail_on(lambda call: call.path == "/objects/add/1", mode="lost")     # saved; response lost
    assert run("--all")[0] == 3
    assert [o["name"] for o in misp.event("1")["Object"]] == ["intrusion-set"]
    assert run("--resume")[0] == 0
    objects = misp.event("1")["Object"]
    assert sorted(o["name"] for o in objects) == ["intrusion-set", "victim"]
    refs = {r["relationship_type"] for r in objects[0]["ObjectReference"]}
    assert refs == {"related-to", "targets"}
    assert run("--all")[0] == 0 and sum(1 for c in misp.calls[-3:] if c.is_write) == 0


def test_a_dropped_connection_is_an_event_failure(misp: StandIn, run: Run) -> None:
    misp.add_event("Reaper", [actor("Reaper")])
    misp.add_event("Kimsuky", [actor("Kimsuky")])
    misp.fail_on(lambda call: call.path == "/events/view/1", mode="drop")
    code, report = run.json("--all")
    assert code == 3 and [e["event_id"] for e in report["errors"]] == ["1"]
    assert misp.event("2")["Object"]


def test_tag_scope_local(misp: StandIn, run: Run) -> None:
    misp.add_event("Reaper", [actor("Reaper")])
    assert run("--all", "--tag-scope", "local")[0] == 0
    tag_calls = [c.body for c in misp.writes if c.path == "/tags/attachTagToObject"]
    assert tag_calls and all(body["local"] is True for body in tag_calls)
    assert all(t["local"] for t in misp.event("1")["Tag"])
    nested = [t for c in misp.writes if "Tag" in (c.body or {}) for t in c.body["Tag"]]
    nested += [t for c in misp.writes if c.path.startswith("/objects/add/") for a in c.body["Attribute"]
               for t in a.get("Tag", [])]
    assert nested and all(t["local"] is True for t in nested)


def test_global_scope_is_the_default(misp: StandIn, run: Run) -> None:
    misp.add_event("Reaper", [actor("Reaper")])
    run("--all")
    assert all(c.body["local"] is False for c in misp.writes if c.path == "/tags/attachTagToObject")


def test_everything_added_copies_the_input_distribution(misp: StandIn, run: Run) -> None:
    misp.add_event("Shared with a group", [actor("Reaper", distribution="4", sharing_group_id="7")],
                   distribution="3")
    assert run("--all")[0] == 0
    event = misp.event("1")
    added = [a for a in event["Attribute"] if a["value"] != "Reaper"]
    added += [o for o in event["Object"]] + [a for o in event["Object"] for a in o["Attribute"]]
    assert added and {(a["distribution"], a["sharing_group_id"]) for a in added} == {("4", "7")}


def test_ambiguous_names_are_reported_not_tagged(misp: StandIn, run: Run) -> None:
    misp.add_event("Grizzly", [actor("Grizzly Steppe")])
    code, report = run.json("--all")
    assert code == 1 and misp.writes == []
    [left] = report["left_for_human"]
    assert (left["value"], left["status"], left["event_id"]) == ("Grizzly Steppe", "ambiguous", "1")
    assert {"APT28", "APT29"} <= set(left["actors"])
    code, text, err = run("--all")
    assert "left for a human: 'Grizzly Steppe' is ambiguous" in text and "1 left for a human" in err


def test_an_actor_tag_on_the_attribute_is_respected(misp: StandIn, run: Run) -> None:
    misp.add_event("Analyst decided", [actor("Reaper", Tag=[{"name": APT28}])])
    assert run("--all")[0] == 0
    tags = tag_names(misp.event("1"))
    assert APT28 in tags and APT37 not in tags


def test_an_unknown_actor_tag_means_nothing_is_added(misp: StandIn, run: Run) -> None:
    misp.add_event("Private", [actor("Reaper", Tag=[{"name": 'misp-galaxy:threat-actor="Our Private Actor"'}])])
    code, report = run.json("--all")
    assert code == 0 and misp.writes == []
    assert report["events"][0]["attributes"][0]["status"] == "kept"


def test_selection_pages_and_filters(misp: StandIn, run: Run) -> None:
    misp.add_event("a", [actor("Reaper")], tags=["tlp:green"], date="2024-01-05")
    misp.add_event("b", [actor("Kimsuky")], date="2024-03-01")
    misp.add_event("c", [actor("Turla")], date="2024-06-01")
    misp.add_event("no actor", [{"type": "domain", "value": "example.org"}])
    _, report = run.json("--all", "--dry-run", "--page-size", "1")
    assert [e["event_id"] for e in report["events"]] == ["1", "2", "3"]
    pages = [c.body["page"] for c in misp.calls if c.path == "/events/restSearch"]
    assert pages == [1, 2, 3, 4]
    assert [e["event_id"] for e in run.json("--tag", "tlp:green", "--dry-run")[1]["events"]] == ["1"]
    assert [e["event_id"] for e in run.json("--since", "2024-02-01", "--until", "2024-04-01",
                                            "--dry-run")[1]["events"]] == ["2"]


def test_exit_codes_and_the_key_is_never_shown(misp: StandIn, run: Run, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    misp.add_event("Reaper", [actor("Reaper")])
    misp.add_event("Grizzly", [actor("Grizzly Steppe")])
    misp.fail_on(lambda call: call.path == "/events/view/1", mode="500")
    outputs = []
    report_file = tmp_path / "report.json"
    code, out, err = run("--all", "--report", str(report_file))
    assert code == 3
    outputs += [out, err, report_file.read_text(), run.state.read_text()]
    code, out, err = run("--resume", "--json")
    assert code == 1                                       # done; Grizzly Steppe is left for a human
    outputs += [out, err]
    assert run()[0] == 2                                   # no selection
    with socket.socket() as sock:                          # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    code, out, err = run("--all", "--url", closed, url=False)
    assert code == 4 and "could not reach MISP" in err
    outputs += [out, err]
    monkeypatch.setenv("MISP_KEY", "wrong-" + KEY)
    code, out, err = run("--all")
    assert code == 5 and "MISP refused the API key (HTTP 403 Authentication failed.)" in err
    outputs += [out, err]
    monkeypatch.delenv("MISP_KEY")
    code, out, err = run("--all", "--key", KEY, "--insecure", "--ca-bundle", str(report_file))
    assert code == 2
    outputs += [out, err]
    assert run("--all")[0] == 2                            # no key at all
    assert all(KEY not in text for text in outputs)


def test_config_file_supplies_connection_and_module_settings(misp: StandIn, run: Run, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MISP_KEY")
    config = tmp_path / "site.yaml"
    config.write_text(f"misp:\n  url: {misp.url}\n  key: {KEY}\nmodule:\n  galaxy_types: [threat-actor]\n"
                      "  max_links: 0\n")
    config.chmod(0o600)
    misp.add_event("Reaper", [actor("Reaper")])
    code, _, err = run("--all", "--config", str(config), url=False)
    assert code == 0 and "warning" not in err
    assert [c.body["tag"] for c in misp.writes if c.path == "/tags/attachTagToObject"] == [APT37]
    assert not any(a["type"] == "link" for a in misp.event("1")["Attribute"])


def test_library_enriches_an_event_object_offline(bundled: Knowledge) -> None:
    event = MISPEvent()
    event.info = "site script"
    reaper = event.add_attribute("threat-actor", "Reaper", distribution=0)
    plan = enrich_event(event, knowledge=bundled, settings=Settings(max_links=1))
    assert [(a.value, a.status, a.tagged, a.actors) for a in plan.attributes] == [("Reaper", "resolved", True, ("APT37",))]
    assert APT37 in {t.name for t in event.tags}
    intrusion_set = next(o for o in event.objects if o.name == "intrusion-set")
    assert {(r.relationship_type, r.referenced_uuid) for r in intrusion_set.references} >= {("related-to", reaper.uuid)}
    assert all(int(o.distribution) == 0 for o in event.objects)
    assert plan_event(event, bundled, Settings(max_links=1)).changes == ()
    reloaded = MISPEvent()
    reloaded.load(event.to_json())
    assert len(reloaded.objects) == 2


def test_repeated_connection_failures_stop_the_run_for_resume(misp: StandIn, run: Run) -> None:
    for n in range(7):
        misp.add_event(f"e{n}", [actor("Reaper")])
    misp.fail_on(lambda call: call.path.startswith("/events/view/"), mode="drop", times=5)
    code, report = run.json("--all")
    assert code == 3 and report["events_seen"] == 5 and "--resume" in report["stopped"]
    code, report = run.json("--resume")
    assert code == 0 and report["events_seen"] == 7 and report["events_already_done"] == 0


def test_the_subcommand_is_registered_on_the_main_command(misp: StandIn, capsys: pytest.CaptureFixture[str],
                                                          tmp_path: Path) -> None:
    misp.add_event("Reaper", [actor("Reaper")])
    code = cli.main(["enrich-events", "--url", misp.url, "--all", "--dry-run", "--state", str(tmp_path / "s.json")])
    assert code == 0 and misp.writes == []
    assert "would tag the event" in capsys.readouterr().out



# --- the real command, as a subprocess: what an admin sees -------------------------------------------


def command(misp: StandIn, tmp_path: Path, *args: str, url: bool = True) -> subprocess.CompletedProcess[str]:
    argv = ["enrich-events", *(["--url", misp.url] if url else []), "--state", str(tmp_path / "state.json"), *args]
    return subprocess.run([sys.executable, "-m", "misp_actor_enrich", *argv], capture_output=True, text=True,
                          timeout=120)


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.stdout == "" and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    return done.stderr.strip()


def test_cli_unreachable_and_a_refused_key_are_told_apart(misp: StandIn, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    misp.add_event("Reaper", [actor("Reaper")])
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    done = command(misp, tmp_path, "--all", "--url", closed, url=False)
    assert done.returncode == 4
    assert one_line(done) == f"misp-actor-enrich: could not reach MISP: {closed}: cannot connect (Connection refused)"
    monkeypatch.setenv("MISP_KEY", "wrong-" + KEY)
    done = command(misp, tmp_path, "--all")
    assert done.returncode == 5 and KEY not in done.stderr
    assert one_line(done).startswith(f"misp-actor-enrich: {misp.url}: MISP refused the API key (HTTP 403 "
                                     "Authentication failed.): check MISP_KEY")
    assert misp.writes == []


def test_cli_a_read_only_key_is_refused_before_any_write(misp: StandIn, tmp_path: Path) -> None:
    misp.add_event("Reaper", [actor("Reaper")])
    misp.role.update(name="Read Only", perm_add=False, perm_modify=False, perm_modify_org=False,
                     perm_tag_editor=False, perm_site_admin=False)
    done = command(misp, tmp_path, "--all")
    assert done.returncode == 6 and "role 'Read Only', which may not change events" in one_line(done)
    assert misp.writes == [] and not any(c.path == "/events/restSearch" for c in misp.calls)
    assert command(misp, tmp_path, "--all", "--dry-run").returncode == 0      # looking is allowed


def test_cli_an_event_that_does_not_exist_is_an_error_and_nothing_is_written(misp: StandIn, tmp_path: Path) -> None:
    misp.add_event("Reaper", [actor("Reaper")])
    misp.add_event("no actor", [{"type": "domain", "value": "example.org"}])
    done = command(misp, tmp_path, "--event", "1", "--event", "42")
    assert done.returncode == 7 and "Traceback" not in done.stderr
    assert done.stderr.splitlines() == [f"misp-actor-enrich: event 42: not found on {misp.url} (or not visible to "
                                        "the API key's user)", "misp-actor-enrich: nothing was changed"]
    assert misp.writes == []
    done = command(misp, tmp_path, "--event", "2")
    assert done.returncode == 8
    assert done.stderr.splitlines() == [
        "misp-actor-enrich: event 2: has no threat-actor attribute or does not match the other filters; skipped",
        "misp-actor-enrich: warning: no event matched --event 2 (events with a threat-actor attribute); nothing to do"]


@pytest.mark.parametrize(("args", "says"), [
    (("--since", "2024-13-45"), "--since: '2024-13-45' is not a date: month must be in 1..12"),
    (("--since", "yesterday"), "--since: 'yesterday' is not a date; expected YYYY-MM-DD (2024-01-31) or an age"),
    (("--until", "2024-02-30"), "--until: '2024-02-30' is not a date: day is out of range for month"),
    (("--changed-since", "last week"), "--changed-since: 'last week' is not a date; expected YYYY-MM-DD"),
    (("--since", "2024-05-01", "--until", "2024-04-01"), "--since 2024-05-01 is after --until 2024-04-01"),
    (("--event", "forty-two"), "--event: 'forty-two' is neither an event id (42) nor an event uuid"),
    (("--resume",), "--resume: no state file at "),
    (("--all", "--timeout", "0"), "--timeout: must be more than 0 seconds"),
])
def test_cli_bad_flags_are_usage_errors_before_misp_is_asked(misp: StandIn, tmp_path: Path, args: tuple[str, ...],
                                                             says: str) -> None:
    done = command(misp, tmp_path, *args)
    assert done.returncode == 2 and says in one_line(done)
    assert misp.calls == []


def test_cli_dates_reach_misp_checked_and_nothing_selected_is_its_own_code(misp: StandIn, tmp_path: Path) -> None:
    misp.add_event("Reaper", [actor("Reaper")], date="2024-03-01")
    done = command(misp, tmp_path, "--since", "2030-01-01", "--changed-since", "2024-01-01")
    assert done.returncode == 8
    assert one_line(done) == ("misp-actor-enrich: warning: no event matched --since 2030-01-01 --changed-since "
                              "1704067200 (events with a threat-actor attribute); nothing to do")
    search = next(c.body for c in misp.calls if c.path == "/events/restSearch")
    assert search["from"] == "2030-01-01" and search["timestamp"] == "1704067200"
    assert not (tmp_path / "state.json").exists()
    done = command(misp, tmp_path, "--since", "2024-02-01", "--dry-run")
    assert done.returncode == 0 and "would tag the event" in done.stdout


def test_cli_a_url_that_is_not_http_names_where_it_came_from(misp: StandIn, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MISP_URL", "misp.example.org")
    done = command(misp, tmp_path, "--all", url=False)
    assert done.returncode == 2
    assert one_line(done) == ("misp-actor-enrich: MISP_URL: expected an http:// or https:// URL, "
                              "got 'misp.example.org'")
