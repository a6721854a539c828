"""The misp-actor-enrich command as people and scripts use it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from misp_actor_enrich.cli.exit_codes import EXIT_BROKEN_PIPE, EXIT_OK, EXIT_UNRESOLVED
from misp_actor_enrich.cli.main import main
from misp_actor_enrich.misp.module import modules_root


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "misp_actor_enrich", *args],
                          capture_output=True, text=True, timeout=120)


def test_json_lines_one_per_name_in_order() -> None:
    names = ["Reaper", "Grizzly Steppe", "ScarKruft", "Definitely Not An Actor", "-APT37"]
    done = run("resolve", "--json", "--", *names)
    assert done.returncode == EXIT_UNRESOLVED, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["query"] for line in lines] == names
    assert [line["status"] for line in lines] == ["resolved", "ambiguous", "suggested", "unknown", "resolved"]
    first = lines[0]["candidates"][0]
    assert first["name"] == "APT37" and first["tier"] == "synonym" and first["matched"] == "Reaper"
    assert 'misp-galaxy:mitre-intrusion-set="APT37 - G0067"' in first["tags"]
    assert "ScarCruft" in first["aliases"] and first["score"] == 1.0
    countries = {c["value"]: c for c in first["targeting"]["countries"]}
    assert countries["South Korea"]["code"] == "KR"
    assert {"galaxy": "threat-actor", "cluster": "APT37", "field": "cfr-suspected-victims"} in \
        countries["South Korea"]["sources"]
    assert all(c["tags"] for c in lines[1]["candidates"])
    assert lines[2]["candidates"][0]["score"] < 1.0


def test_readable_output_and_exit_code_when_everything_resolves(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["resolve", "Reaper", "APT 37"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "Reaper: APT37" in out and 'misp-galaxy:threat-actor="APT37"' in out
    assert "South Korea (KR)" in out and "sponsor:" in out


def test_ambiguous_output_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["resolve", "Grizzly Steppe"]) == EXIT_UNRESOLVED
    out = capsys.readouterr().out
    assert "ambiguous" in out and "APT28" in out and "APT29" in out and "would tag" in out


def test_modules_root_holds_the_expansion_file() -> None:
    done = run("modules-root")
    root = Path(done.stdout.strip())
    assert done.returncode == 0 and root == modules_root()
    assert (root / "expansion" / "actor_enrich.py").is_file()


def test_usage_errors_exit_2() -> None:
    assert run("resolve").returncode == 2
    assert run("no-such-command").returncode == 2


def test_scan_reads_stdin_and_files(tmp_path: Path) -> None:
    report = tmp_path / "report.txt"
    report.write_text("The Reaper group, which others call APT37, and TA505 were active.", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "misp_actor_enrich", "scan", "--json", str(report), "-"],
                          input="Nothing to see: the reaper came for the cobalt blue fields.",
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == EXIT_OK, done.stderr
    first, second = (json.loads(line) for line in done.stdout.splitlines())
    assert first["source"] == str(report)
    assert [f["candidates"][0]["name"] for f in first["findings"]] == ["APT37", "TA505"]
    assert [m["text"] for m in first["findings"][0]["mentions"]] == ["Reaper", "APT37"]
    assert "«Reaper»" in first["findings"][0]["snippet"]
    assert second == {"source": "-", "findings": []}


def test_scan_of_a_missing_file_is_a_usage_error() -> None:
    done = run("scan", "/nonexistent/report.txt")
    assert done.returncode == 2 and "cannot read /nonexistent/report.txt" in done.stderr


@pytest.mark.parametrize("args", [["resolve", "--json", "--"], ["resolve"], ["scan", "--json"], ["scan"]])
def test_a_closed_pipe_ends_quietly(args: list[str], tmp_path: Path) -> None:
    """`... | head -1`: the reader leaves early; no traceback, the exit code a shell gives SIGPIPE."""
    if args[0] == "scan":
        report = tmp_path / "report.txt"
        report.write_text("The Reaper group and APT28 struck again; Turla too.", encoding="utf-8")
        operands = [str(report)] * 3000
    else:
        operands = ["Reaper", "APT28", "Turla", "Lazarus Group"] * 150
    process = subprocess.Popen([sys.executable, "-m", "misp_actor_enrich", *args, *operands],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout and process.stderr
    assert process.stdout.readline()
    process.stdout.close()
    assert process.wait(timeout=120) == EXIT_BROKEN_PIPE
    assert process.stderr.read() == ""


@pytest.mark.parametrize("command", ["resolve", "scan", "enrich-events", "update", "status", "serve"])
def test_every_command_help_gives_its_exit_codes(command: str) -> None:
    done = run(command, "--help")
    assert done.returncode == 0 and "exit codes: 0 " in " ".join(done.stdout.split())


def test_help_describes_the_arguments() -> None:
    resolve = " ".join(run("resolve", "--help").stdout.split())
    assert "NAME an actor name as a report writes it" in resolve
    assert "custom-module root" in " ".join(run("modules-root", "--help").stdout.split())
    assert "own output goes to a log file" in " ".join(run("serve", "--help").stdout.split())
    assert "(default: global)" in " ".join(run("enrich-events", "--help").stdout.split())
