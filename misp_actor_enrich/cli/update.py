"""``misp-actor-enrich update`` and ``status``: refresh the galaxy data cache; say which data is in use.

update exits 0 when the data was updated or is already up to date, 2 on a usage or
configuration error, 3 when the update failed (the data in use is kept untouched).
status exits 0, or 1 when the data is stale or something needs attention.

The MISP API key (``misp.key``, ``MISP_KEY``) is never printed: every message that
could carry it passes through ``_redact``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from ..core.errors import ActorEnrichError, ConfigError, DataError
from ..data.site_config import SiteConfig

EXIT_OK, EXIT_WARN, EXIT_USAGE, EXIT_FAILED = 0, 1, 2, 3


def add_parser(subparsers: Any) -> None:
    """Register ``update`` and ``status`` on a ``parser.add_subparsers()`` object."""
    up = subparsers.add_parser(
        "update", help="fetch fresh galaxy data from the configured sources into the cache",
        description="Fetch misp-galaxy files, the MISP instance's own galaxies and ATT&CK's groups (as "
                    "configured), validate them and swap them in atomically. On any failure the data in use "
                    "stays as it was.",
        epilog="exit codes: 0 updated, or already up to date; 2 usage or configuration error; 3 the update "
               "failed (the data in use is unchanged; the message says which file and why)")
    up.add_argument("--config", type=Path, metavar="FILE", help="YAML config (default: $MISP_ACTOR_ENRICH_CONFIG, "
                    "else $XDG_CONFIG_HOME/misp-actor-enrich/config.yaml when present)")
    up.add_argument("--source", metavar="URL|PATH",
                    help="this run only: a misp-galaxy base (URL, file:// URL or folder), an ATT&CK STIX bundle "
                         "(*.json), or the word misp-instance")
    up.add_argument("--force", action="store_true", help="accept versions older than the ones in use")
    up.add_argument("--cache-dir", type=Path, metavar="DIR", help="cache folder (default: cache.dir, else "
                    "$XDG_CACHE_HOME/misp-actor-enrich)")
    up.add_argument("--insecure", action="store_true", help="do not verify TLS certificates (not recommended)")
    up.add_argument("--json", action="store_true", help="print the JSON report on stdout")
    up.add_argument("--no-progress", action="store_true", help="no progress bar (it only shows on a terminal)")
    up.set_defaults(run=run_update)

    st = subparsers.add_parser("status", help="which galaxy data is in use, from where, how old",
                               description="Say which galaxy data the module uses, where it came from, its "
                                           "versions and age; warn when it is stale.",
                               epilog="exit codes: 0 all well; 1 a warning (stale data, an override that names "
                                      "an actor the data lacks, cached data that does not load); 2 usage or "
                                      "configuration error, including a site config or overrides file to "
                                      "fix (the module keeps the last good one meanwhile)")
    st.add_argument("--config", type=Path, metavar="FILE", help="YAML config")
    st.add_argument("--cache-dir", type=Path, metavar="DIR", help="cache folder")
    st.add_argument("--json", action="store_true", help="print the JSON report on stdout")
    st.set_defaults(run=run_status)


def run_update(args: argparse.Namespace) -> int:
    from ..data import refresh

    key = ""
    try:
        config = _config(args)
        key = config.misp.key or ""
        limits = refresh.limits_from(config, insecure=args.insecure)
        if args.insecure:
            print("misp-actor-enrich: warning: TLS certificates are not verified in this run", file=sys.stderr)
        bar = _Bar(sys.stderr, enabled=not args.json and not args.no_progress)
        started = time.monotonic()
        try:
            report = refresh.update(config, only=args.source, force=args.force, progress=bar, limits=limits)
        finally:
            bar.close()
    except ActorEnrichError as exc:
        code = EXIT_FAILED if isinstance(exc, DataError) else EXIT_USAGE
        print(f"misp-actor-enrich: {_redact(str(exc), key)}", file=sys.stderr)
        return code
    if args.json:
        print(_redact(json.dumps(report.as_dict(), indent=1, ensure_ascii=False), key))
    else:
        _print_update(report, sys.stdout, key, time.monotonic() - started)
    return EXIT_FAILED if report.status == "failed" else EXIT_OK


def run_status(args: argparse.Namespace) -> int:
    from ..data import refresh

    key = ""
    try:
        config = _config(args)
        key = config.misp.key or ""
        report = refresh.status(config)
    except ActorEnrichError as exc:
        print(f"misp-actor-enrich: {_redact(str(exc), key)}", file=sys.stderr)
        return EXIT_USAGE
    problems, errors = _site_problems(args)
    warnings = (*config.warnings, *report.warnings, *problems)
    if args.json:
        print(_redact(json.dumps({**report.as_dict(), "warnings": list(warnings), "errors": list(errors)}, indent=1,
                                 ensure_ascii=False), key))
    else:
        _print_status(report, warnings, sys.stdout, key, errors)
    return EXIT_USAGE if errors else EXIT_WARN if warnings else EXIT_OK


def _site_problems(args: argparse.Namespace) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """What the running module would say: (warnings: overrides and cached data, errors: site files to fix)."""
    from ..data.runtime import CONFIG_ENV, Runtime

    env = {**os.environ, **({CONFIG_ENV: str(args.config)} if args.config else {})}
    if args.cache_dir:
        return (), ()  # a different cache than the module's: its problems are not this cache's
    checker = Runtime(environ=env)
    logging.disable(logging.WARNING)  # reported below; not twice through the log
    try:
        checker.current()
    finally:
        logging.disable(logging.NOTSET)
    return checker.problems, checker.errors


def _config(args: argparse.Namespace) -> SiteConfig:
    from ..data import site_config

    env = os.environ
    # The same file the running module reads (runtime.CONFIG_ENV), so both use one cache folder.
    config = site_config.load(args.config or env.get("MISP_ACTOR_ENRICH_CONFIG") or None)
    url = env.get("MISP_URL") or config.misp.url
    if env.get("MISP_URL") and not env["MISP_URL"].startswith(("https://", "http://")):
        raise ConfigError(f"expected an http:// or https:// URL, got {env['MISP_URL']!r}", field="MISP_URL")
    key = env.get("MISP_KEY") or env.get("MISP_API_KEY") or config.misp.key
    config = replace(config, misp=replace(config.misp, url=url, key=key))
    if args.cache_dir:
        config = replace(config, cache=replace(config.cache, dir=args.cache_dir.expanduser()))
    return config


def _redact(text: str, key: str) -> str:
    from ..data.secrets import Redactor

    return Redactor([key])(text)


def _print_update(report: Any, out: TextIO, key: str, seconds: float) -> None:
    from ..data.refresh import summary_lines

    where = f"generation {report.generation}" if report.generation else "the bundled data"
    lines: list[str] = []
    if report.status == "failed":
        fetched = f"; {len(report.files)} files had been fetched, none is used" if report.files else ""
        lines.append(f"update failed after {seconds:.1f} s{fetched}; still using {where}, unchanged:")
        lines += [f"  {p}" for p in report.problems]
    elif report.status == "up-to-date":
        unchanged = sum(1 for f in report.files if f.status == "not-modified")
        lines.append(f"up to date: {where} ({len(report.files)} files checked, {unchanged} not modified, "
                     f"{seconds:.1f} s)")
    else:
        was = f" (was generation {report.previous})" if report.previous else " (was the bundled data)"
        updated = sum(1 for f in report.files if f.status == "updated")
        lines.append(f"updated: now using {where}{was}; {updated} files fetched, "
                     f"{len(report.files) - updated} not modified, in {seconds:.1f} s")
        lines += [f"  {line}" for line in summary_lines(report.changes)] or ["  no cluster changed"]
    lines += [f"note: {n}" for n in report.notes]
    out.write(_redact("\n".join(lines), key) + "\n")


def _print_status(report: Any, warnings: tuple[str, ...], out: TextIO, key: str,
                  errors: tuple[str, ...] = ()) -> None:
    def day(t: float) -> str:
        return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(t))

    lines = [f"data in use: {report.label}", f"  path:    {report.path}"]
    if report.in_use == "cache":
        lines += [f"  created: {day(report.created)}", f"  checked: {day(report.checked)} "
                  f"({report.age_days:.1f} days ago; stale after {report.stale_after_days} days)"]
    elif report.bundle.get("date"):
        lines.append(f"  data of: {report.bundle['date']}, misp-galaxy commit {report.bundle.get('commit', '?')} "
                     f"({report.age_days:.0f} days ago; stale after {report.stale_after_days} days)")
    else:
        lines.append(f"  installed: {day(report.created)} ({report.age_days:.1f} days ago)")
    lines.append("galaxies:")
    for g in report.galaxies:
        fetched = f", fetched {day(g.fetched)}" if g.fetched else ""
        lines.append(f"  {g.galaxy:28} version {g.version:<5} from {g.source} ({g.url}){fetched}")
    for name, source in sorted(report.sources.items()):
        version = f" {source['version']}" if source.get("version") else ""
        lines.append(f"  {name}{version} from {source.get('url', '?')}, {source.get('groups', '?')} groups")
    lines += [f"note: {n}" for n in report.notes]
    lines += [f"warning: {w}" for w in warnings]
    lines += [f"error: {e} (the module uses the last good file and says so in every answer until it is fixed)"
              for e in errors]
    out.write(_redact("\n".join(lines), key) + "\n")


class _Bar:
    """A one-line download indicator on stderr, only on a terminal: which file (counted) and how far.

    Redrawn at most 10 times a second, and whenever a new file starts, so a slow or
    failing connection shows which file it is on before any byte arrives.
    """

    def __init__(self, stream: TextIO, *, enabled: bool) -> None:
        self.stream = stream
        self.enabled = enabled and stream.isatty()
        self.last = 0.0
        self.drawn = False
        self.files: dict[str, None] = {}

    def __call__(self, label: str, done: int, total: int | None) -> None:
        now = time.monotonic()
        new = label not in self.files
        if not self.enabled or (now - self.last < 0.1 and done != total and not new):
            return
        self.files.setdefault(label, None)
        self.last = now
        name = f"file {len(self.files)}: {'/'.join(label.rsplit('/', 2)[-2:])[:40]}"
        if total:
            filled = 16 * min(done, total) // total
            text = f"[{'#' * filled}{'.' * (16 - filled)}] {done // 1024:>6} of {total // 1024} KiB  {name}"
        else:
            text = f"[{'~' * 16}] {done // 1024:>6} KiB  {name}"
        self.stream.write(f"\r{text[:79]:<79}")
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            self.stream.write("\r\033[K")
            self.stream.flush()
