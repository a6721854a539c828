"""Which events ``enrich-events`` works on: the selection flags checked, then MISP's event search.

Every filter is checked before MISP is asked (MISP would take ``2024-13-45`` and quietly
match nothing); the search runs page by page before anything is written, and each
``--event`` that was not selected is said: not found, or found but not matching.
"""

from __future__ import annotations

import argparse
import calendar
import datetime
import re
import uuid
from dataclasses import dataclass
from typing import Any, Mapping

from ..core.errors import ConfigError

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_AGE = re.compile(r"\d+[dhm]")


@dataclass(frozen=True, slots=True)
class Selection:
    events: tuple[str, ...] = ()
    since: str | None = None
    until: str | None = None
    changed_since: str | None = None
    tags: tuple[str, ...] = ()
    all: bool = False

    def describe(self) -> str:
        parts = [f"--event {', '.join(self.events)}" if self.events else "",
                 f"--since {self.since}" if self.since else "", f"--until {self.until}" if self.until else "",
                 f"--changed-since {self.changed_since}" if self.changed_since else "",
                 f"--tag {', '.join(self.tags)}" if self.tags else "", "--all" if self.all else ""]
        return " ".join(p for p in parts if p) + " (events with a threat-actor attribute)"

    def search_filters(self) -> dict[str, Any]:
        filters: dict[str, Any] = {"type_attribute": "threat-actor"}
        if self.events:
            filters["eventid"] = list(self.events)
        if self.since:
            filters["date_from"] = self.since
        if self.until:
            filters["date_to"] = self.until
        if self.changed_since:
            filters["timestamp"] = self.changed_since
        if self.tags:
            filters["tags"] = list(self.tags)
        return filters


def selection_from(args: argparse.Namespace) -> Selection:
    """The event filters, each checked here: MISP would take a bad date and quietly match nothing."""
    selection = Selection(tuple(str(e).strip() for e in args.event), _when("--since", args.since),
                          _when("--until", args.until), _when("--changed-since", args.changed_since, timestamp=True),
                          tuple(args.tag), args.all)
    if selection == Selection():
        raise ConfigError("choose events: --event, --since/--until, --changed-since, --tag or --all")
    bad = [e for e in selection.events if not (e.isdigit() or _is_uuid(e))]
    if bad:
        raise ConfigError(f"{bad[0]!r} is neither an event id (42) nor an event uuid", field="--event")
    if selection.since and selection.until and _DATE.fullmatch(selection.since) and \
            _DATE.fullmatch(selection.until) and selection.since > selection.until:
        raise ConfigError(f"--since {selection.since} is after --until {selection.until}: no event can match")
    return selection


def _when(flag: str, value: str | None, *, timestamp: bool = False) -> str | None:
    """A date (YYYY-MM-DD, a real one), an age (7d, 24h, 30m) or, for --changed-since, a Unix timestamp."""
    if value is None:
        return None
    text = value.strip()
    if _AGE.fullmatch(text) or (timestamp and text.isdigit()):
        return text
    if _DATE.fullmatch(text):
        try:
            day = datetime.date.fromisoformat(text)
        except ValueError as exc:
            raise ConfigError(f"{text!r} is not a date: {exc}", field=flag) from None
        # MISP's timestamp filter wants seconds: the start of that day, UTC.
        return str(calendar.timegm(day.timetuple())) if timestamp else text
    forms = "YYYY-MM-DD (2024-01-31), a Unix timestamp" if timestamp else "YYYY-MM-DD (2024-01-31)"
    raise ConfigError(f"{text!r} is not a date; expected {forms} or an age such as 7d, 24h or 30m", field=flag)


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return len(text) == 36


def select(misp: Any, selection: Selection, page_size: int) -> tuple[list[str], list[str]]:
    """Every selected event id, page by page, before anything is written (our writes move timestamps);
    and a line for each ``--event`` that was not selected: not found, or found but not matching."""
    ids: dict[str, None] = {}
    seen: set[str] = set()
    page = 1
    while True:
        rows = _search(misp, metadata=True, limit=page_size, page=page, **selection.search_filters())
        for row in rows:
            event = row.get("Event", row)
            ids.setdefault(str(event["id"]), None)
            seen.update((str(event["id"]), str(event.get("uuid", "")).lower()))
        if len(rows) < page_size:
            break
        page += 1
    wanted = [e for e in selection.events if e.lower() not in seen]
    if not wanted:
        return list(ids), []
    exists = {key for row in _search(misp, metadata=True, eventid=wanted)
              for key in (str(row.get("Event", row)["id"]), str(row.get("Event", row).get("uuid", "")).lower())}
    where = misp.root_url.rstrip("/") if isinstance(getattr(misp, "root_url", None), str) else "MISP"
    return list(ids), [f"event {e}: has no threat-actor attribute or does not match the other filters; skipped"
                       if e.lower() in exists else f"event {e}: not found on {where} (or not visible to the "
                       "API key's user)" for e in wanted]


def _search(misp: Any, **filters: Any) -> list[dict[str, Any]]:
    from ..misp.bulk import MispError, misp_errors

    rows = misp.search(controller="events", **filters)
    if isinstance(rows, Mapping):
        raise MispError(misp_errors(rows.get("errors", rows)))
    return list(rows)
