"""``misp-actor-enrich enrich-events``: enrich the threat-actor attributes of MISP events through PyMISP.

The edge around ``bulk``: credentials (flags, then ``MISP_URL``/``MISP_KEY``, then the
site config file), the event selection (``selection``: flags checked, ``events/restSearch`` in pages), a state
file written atomically after every event so an interrupted run resumes where it
stopped, a progress bar, a summary, a JSON report, and exit codes:

0 every selected event is enriched and no name is left for a human;
1 done, but some names were ambiguous, near misses or unknown (see the report);
2 usage or configuration error (a bad date, no URL or key, no state file to resume);
3 some events failed (network/API; ``--resume`` retries them);
4 MISP could not be reached (no such host, refused, no answer, TLS, no MISP API at that URL);
5 MISP refused the API key; 6 the key's user may not change events (a read-only role);
7 an event named with ``--event`` does not exist or is not visible to that user;
8 nothing selected: no event matched (a warning; nothing was done).

Everything is checked before the first write: flags and dates locally, then the
connection, the key, the role and the named events against MISP.

The API key never appears in output, reports, state files or error messages.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any, Mapping, TextIO

from ..core.errors import ActorEnrichError, AuthenticationError, ConfigError
from ..core.settings import check_galaxy_types
from ..data.cache import write_json_atomic
from ..data.misp_api import connect, quiet_pymisp
from ..data.secrets import Redactor, safe_url
from .selection import select, selection_from

EXIT_OK, EXIT_HUMAN, EXIT_USAGE, EXIT_FAILED, EXIT_UNREACHABLE = 0, 1, 2, 3, 4
EXIT_AUTH, EXIT_PERMISSION, EXIT_NOT_FOUND, EXIT_NOTHING = 5, 6, 7, 8
EPILOG = ("exit codes: 0 done, nothing left for a human; 1 done, some names left for a human; 2 usage or "
          "configuration error (including a bad date); 3 some events failed (--resume retries them); 4 MISP could "
          "not be reached; 5 MISP refused the API key; 6 the key's user may not change events; 7 an --event does "
          "not exist (or is not visible to that user); 8 nothing selected (no event matched)")
STATE_VERSION = 1
MAX_CONSECUTIVE_NETWORK_ERRORS = 5   # then MISP is down: stop and leave the rest for --resume


def default_state_path(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    base = env.get("XDG_STATE_HOME") or str(Path(env.get("HOME") or Path.home()) / ".local" / "state")
    return Path(base) / "misp-actor-enrich" / "enrich-events.json"


def add_parser(subparsers: Any) -> None:
    """Register ``enrich-events`` on a ``parser.add_subparsers()`` object."""
    p = subparsers.add_parser(
        "enrich-events", help="enrich threat-actor attributes of MISP events through the MISP API",
        description="Resolve each event's threat-actor attributes and attach the actor's galaxy clusters, "
                    "intrusion-set and victim objects. Idempotent: a second run changes nothing.",
        epilog=EPILOG)
    conn = p.add_argument_group("MISP connection (flags, else MISP_URL / MISP_KEY, else the config file)")
    conn.add_argument("--url", help="MISP base URL")
    conn.add_argument("--key", help="API key (prefer MISP_KEY in the environment: flags show in ps)")
    conn.add_argument("--insecure", action="store_true", help="do not verify the TLS certificate")
    conn.add_argument("--ca-bundle", type=Path, metavar="FILE", help="CA bundle to verify MISP's certificate")
    conn.add_argument("--config", type=Path, metavar="FILE", help="YAML config (default: $XDG_CONFIG_HOME/"
                      "misp-actor-enrich/config.yaml when present)")
    conn.add_argument("--timeout", type=float, default=60.0, metavar="S", help="per-request timeout (default 60)")
    sel = p.add_argument_group("which events (combined with AND; one is required)")
    sel.add_argument("--event", action="append", default=[], metavar="ID", help="event id or uuid (repeatable)")
    sel.add_argument("--since", metavar="DATE", help="event date from (YYYY-MM-DD, or an age: 7d, 24h, 30m)")
    sel.add_argument("--until", metavar="DATE", help="event date until (YYYY-MM-DD, or an age)")
    sel.add_argument("--changed-since", metavar="WHEN", help="last edited after (YYYY-MM-DD, a Unix timestamp, "
                     "or an age: 7d, 24h, 30m)")
    sel.add_argument("--tag", action="append", default=[], metavar="TAG", help="events with this tag (repeatable)")
    sel.add_argument("--all", action="store_true", help="every event with a threat-actor attribute")
    sel.add_argument("--page-size", type=int, default=100, metavar="N", help="events per search page (default 100)")
    run = p.add_argument_group("what to do")
    run.add_argument("--tag-scope", choices=("global", "local"), default="global",
                     help="attach galaxy tags globally (shared) or locally (this instance only) (default: global)")
    run.add_argument("--dry-run", action="store_true", help="show exactly what would change; write nothing")
    run.add_argument("--state", type=Path, metavar="FILE", help=f"progress file (default {default_state_path()})")
    run.add_argument("--resume", nargs="?", const=True, default=None, metavar="STATE",
                     help="continue the run recorded in STATE (default: the --state file)")
    out = p.add_argument_group("output")
    out.add_argument("--json", action="store_true", help="print the JSON report on stdout instead of text")
    out.add_argument("--report", type=Path, metavar="FILE", help="also write the JSON report to FILE")
    out.add_argument("--no-progress", action="store_true", help="no progress bar (it only shows on a terminal)")
    p.set_defaults(run=run_command)


# --- the run ---------------------------------------------------------------------------


def run_command(args: argparse.Namespace) -> int:
    from ..data import runtime, site_config

    redact = Redactor()
    try:
        state_path, state = _state_for(args)
        site = site_config.load(args.config)
        for warning in site.warnings:
            print(f"misp-actor-enrich: warning: {warning}", file=sys.stderr)
        url, key, ssl = _connection(args, site)
        redact.add(key)
        if state is not None and state["url"] != safe_url(url.rstrip("/")):
            raise ConfigError(f"was written for {state['url']}, not {safe_url(url)}", field=str(state_path))
        if state is None:
            selection = selection_from(args)
            if args.page_size < 1:
                raise ConfigError("must be at least 1", field="--page-size")
        if args.timeout <= 0:
            raise ConfigError("must be more than 0 seconds", field="--timeout")
        known = runtime.checked()
        check_galaxy_types(site.module, known.galaxy_types, field=f"{site.path}: module.galaxy_types")
    except ActorEnrichError as exc:  # config, usage or galaxy data that cannot be loaded
        print(f"misp-actor-enrich: {redact(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    with quiet_pymisp():
        try:
            misp = connect(url, key, ssl, args.timeout)
        except AuthenticationError as exc:
            print(f"misp-actor-enrich: {redact(str(exc))}", file=sys.stderr)
            return EXIT_AUTH
        except ActorEnrichError as exc:
            print(f"misp-actor-enrich: could not reach MISP: {redact(str(exc))}", file=sys.stderr)
            return EXIT_UNREACHABLE
        if not args.dry_run and (refusal := _role_refusal(misp)):
            print(f"misp-actor-enrich: {refusal}", file=sys.stderr)
            return EXIT_PERMISSION
        if not args.dry_run and not _role_allows(misp, "perm_tag_editor", "perm_site_admin"):
            print("misp-actor-enrich: warning: the API key's user may not create tags (perm_tag_editor): galaxy "
                  "tags the instance has never used will be refused", file=sys.stderr)
        if state is None:
            try:
                ids, missing = select(misp, selection, args.page_size)
            except Exception as exc:  # PyMISP and requests raise many kinds; nothing was written yet
                print(f"misp-actor-enrich: MISP's event search failed at {safe_url(url)}: {redact(_short(exc))}",
                      file=sys.stderr)
                return EXIT_UNREACHABLE
            if missing:
                print("\n".join(f"misp-actor-enrich: {m}" for m in missing), file=sys.stderr)
                if any("not found" in m for m in missing):
                    print("misp-actor-enrich: nothing was changed", file=sys.stderr)
                    return EXIT_NOT_FOUND
            if not ids:
                print(f"misp-actor-enrich: warning: no event matched {selection.describe()}; nothing to do",
                      file=sys.stderr)
                return EXIT_NOTHING
            state = {"version": STATE_VERSION, "url": safe_url(url.rstrip("/")), "tag_scope": args.tag_scope,
                     "selection": asdict(selection), "events": ids, "done": [], "failed": {}}
        report = _run(misp, state, state_path, known, site.module, args, redact)
    _output(report, args, redact)
    return int(report["exit_code"])


def _role_refusal(misp: Any) -> str | None:
    """Why the key's user cannot write to events (a read-only role), or None."""
    if _role_allows(misp, "perm_site_admin") or (_role_allows(misp, "perm_add")
                                                 and _role_allows(misp, "perm_modify", "perm_modify_org")):
        return None
    name = getattr(getattr(misp, "_current_role", None), "name", "?")
    return (f"the API key's user has the role {name!r}, which may not change events (perm_add with perm_modify "
            "or perm_modify_org): use the key of a user who may edit these events, or --dry-run to only look")


def _role_allows(misp: Any, *permissions: str) -> bool:
    """Whether the key's user's role has any of ``permissions`` (unknown role: assume so, MISP will say)."""
    role = getattr(misp, "_current_role", None)      # PyMISP reads it from users/view/me when it connects
    if role is None:
        return True
    return any(str(getattr(role, p, "")).lower() in ("1", "true") for p in permissions)


def _run(misp: Any, state: dict[str, Any], state_path: Path, known: Any, settings: Any,
         args: argparse.Namespace, redact: Redactor) -> dict[str, Any]:
    import requests
    from pymisp.exceptions import PyMISPError

    from ..misp.bulk import MispError, apply_plan, fetch_event, plan_event

    done: list[str] = state["done"]
    left_by_event: dict[str, list[dict[str, Any]]] = state.setdefault("left_for_human", {})
    failed: dict[str, str] = state["failed"]
    pending = [e for e in state["events"] if e not in set(done)]
    events: list[dict[str, Any]] = []
    writes = 0
    stopped = ""
    network_errors = 0
    progress = _Progress(sys.stderr, len(pending), enabled=not args.no_progress and not args.json)
    for n, event_id in enumerate(pending):
        progress.show(n, event_id)
        try:
            event = fetch_event(misp, event_id)
            plan = plan_event(event, known, settings, state["tag_scope"])
            if not args.dry_run:
                writes += apply_plan(misp, plan)
        except (MispError, PyMISPError, requests.RequestException, ValueError, KeyError) as exc:
            failed[event_id] = redact(_short(exc))
            events.append({"event_id": event_id, "status": "failed", "error": failed[event_id]})
            network_errors = network_errors + 1 if isinstance(exc, requests.ConnectionError) else 0
        else:
            network_errors = 0
            if not args.dry_run:
                done.append(event_id)
                failed.pop(event_id, None)
            entry = _event_entry(plan)
            events.append({**entry, "status": ("planned" if args.dry_run else "changed")
                           if plan.changes else "unchanged"})
            # Kept across --resume, so the exit code speaks for the whole run, not only its last part.
            left_by_event[event_id] = [{"event_id": event_id, **a} for a in entry["attributes"] if a["needs_human"]]
        if not args.dry_run:
            write_json_atomic(state_path, state, mode=0o600)
        if network_errors >= MAX_CONSECUTIVE_NETWORK_ERRORS:
            stopped = f"stopped after {network_errors} connection failures in a row; --resume continues"
            break
    progress.close()
    attributes = [a for e in events for a in e.get("attributes", ())]
    left = [a for entries in left_by_event.values() for a in entries]
    failures = [{"event_id": e["event_id"], "error": e["error"]} for e in events if e["status"] == "failed"]
    code = EXIT_FAILED if failures or stopped else EXIT_HUMAN if left else EXIT_OK
    return {
        "dry_run": bool(args.dry_run), "tag_scope": state["tag_scope"], "selection": state["selection"],
        "events_selected": len(state["events"]), "events_already_done": len(state["events"]) - len(pending),
        "events_seen": len(events), "events_changed": sum(1 for e in events if e["status"] in ("changed", "planned")),
        "events_failed": len(failures), "attributes_seen": len(attributes),
        "actors_resolved": sum(1 for a in attributes if a["tagged"]), "left_for_human": left,
        "changes": sum(len(e.get("changes", ())) for e in events), "writes": writes, "errors": failures,
        "stopped": stopped, "state_file": None if args.dry_run else str(state_path), "events": events,
        "exit_code": code,
    }


def _event_entry(plan: Any) -> dict[str, Any]:
    return {"event_id": plan.event_id, "event_uuid": plan.event_uuid, "info": plan.info,
            "attributes": [{**a.as_dict(), "needs_human": a.needs_human} for a in plan.attributes],
            "changes": [{"kind": c.kind, "summary": c.summary} for c in plan.changes]}


# --- pieces ----------------------------------------------------------------------------


def _connection(args: argparse.Namespace, site: Any) -> tuple[str, str, bool | str]:
    env = os.environ
    url = args.url or env.get("MISP_URL") or site.misp.url
    key = args.key or env.get("MISP_KEY") or env.get("MISP_API_KEY") or site.misp.key
    if not url:
        raise ConfigError("no MISP URL: use --url, MISP_URL or misp.url in the config file")
    if not url.startswith(("https://", "http://")):
        source = "--url" if args.url else "MISP_URL" if env.get("MISP_URL") else f"{site.path}: misp.url"
        raise ConfigError(f"expected an http:// or https:// URL, got {url!r}", field=source)
    if not key:
        raise ConfigError("no API key: set MISP_KEY (or --key, or misp.key in the config file)")
    if args.insecure and args.ca_bundle:
        raise ConfigError("--insecure and --ca-bundle contradict each other")
    ssl: bool | str = True
    if args.insecure:
        ssl = False
    elif args.ca_bundle:
        if not args.ca_bundle.is_file():
            raise ConfigError(f"no such file: {args.ca_bundle}", field="--ca-bundle")
        ssl = str(args.ca_bundle)
    elif site.misp.ca_bundle:
        ssl = str(site.misp.ca_bundle)
    elif not site.misp.verify_tls:
        ssl = False
    return url, key, ssl


def _state_for(args: argparse.Namespace) -> tuple[Path, dict[str, Any] | None]:
    if args.resume is None:
        return (args.state or default_state_path()), None
    if any((args.event, args.since, args.until, args.changed_since, args.tag, args.all)):
        raise ConfigError("--resume continues a recorded selection; drop the event filters")
    path = Path(args.state or default_state_path()) if args.resume is True else Path(args.resume)
    if not path.exists():
        raise ConfigError(f"no state file at {path}: nothing to resume (a run writes one as it goes; "
                          "--resume FILE or --state FILE names another)", field="--resume")
    try:
        state: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read the state file: {exc.strerror or exc}", field=str(path)) from None
    except ValueError as exc:
        raise ConfigError(f"not an enrich-events state file (not JSON: {exc})", field=str(path)) from None
    if not isinstance(state, dict) or state.get("version") != STATE_VERSION or \
            not {"url", "tag_scope", "selection", "events", "done", "failed"} <= set(state):
        raise ConfigError("not an enrich-events state file", field=str(path))
    return path, state




def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


class _Progress:
    """A one-line bar on stderr, only when stderr is a terminal."""

    def __init__(self, stream: TextIO, total: int, *, enabled: bool) -> None:
        self.stream, self.total = stream, total
        self.enabled = enabled and total > 0 and stream.isatty()

    def show(self, n: int, label: str) -> None:
        if self.enabled:
            width = 30
            filled = width * n // self.total
            self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {n}/{self.total} events  event {label[:36]:<36}")
            self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r\033[K")
            self.stream.flush()


def _output(report: dict[str, Any], args: argparse.Namespace, redact: Redactor) -> None:
    # Whatever MISP answered (errors, titles) went into the report: nothing in it may carry the key.
    report = json.loads(redact(json.dumps(report, ensure_ascii=False)))
    if args.report:
        write_json_atomic(args.report, report)
    if args.json:
        json.dump(report, sys.stdout, indent=1, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        _print_events(report, sys.stdout)
    _print_summary(report, sys.stderr)


def _print_events(report: Mapping[str, Any], out: TextIO) -> None:
    verb = "would " if report["dry_run"] else ""
    for event in report["events"]:
        lines = [f"  {verb}{c['summary']}" for c in event.get("changes", ())]
        lines += [f"  left for a human: {a['value']!r} is {a['status']}"
                  + (f" ({', '.join(a['actors'])})" if a["actors"] else "") + f": {a['reason']}"
                  for a in event.get("attributes", ()) if a["needs_human"]]
        if event["status"] == "failed":
            lines.append(f"  failed: {event['error']}")
        if lines:
            title = f" {event['info']!r}" if event.get("info") else ""
            out.write(f"event {event['event_id']}{title}\n" + "\n".join(lines) + "\n")


def _print_summary(report: Mapping[str, Any], out: TextIO) -> None:
    done = f", {report['events_already_done']} already done earlier" if report["events_already_done"] else ""
    mode = f"{report['changes']} changes planned, nothing written (dry run)" if report["dry_run"] \
        else f"{report['writes']} writes"
    out.write(f"{report['events_seen']} events seen{done}: {report['events_changed']} "
              f"{'to change' if report['dry_run'] else 'changed'} ({mode}), {report['events_failed']} failed; "
              f"{report['attributes_seen']} threat-actor attributes: {report['actors_resolved']} resolved, "
              f"{len(report['left_for_human'])} left for a human.\n")
    if report["stopped"]:
        out.write(f"{report['stopped']}\n")
    if report["events_failed"] and report["state_file"]:
        out.write(f"resume with: misp-actor-enrich enrich-events --resume {report['state_file']}\n")
