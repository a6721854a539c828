"""A loopback stand-in for the MISP REST endpoints PyMISP calls; not MISP.

It answers only what PyMISP 2.5 needs for ``enrich-events``, with the response
shapes MISP 2.5 documents and its controllers build (read in MISP's source:
``RestResponseComponent::saveSuccessResponse/saveFailResponse``,
``TagsController::attachTagToObject``, ``ObjectsController::add``,
``ObjectReferencesController::add``, ``events/restSearch`` wrapped in ``response``):

- ``GET  /servers/getVersion``, ``/users/view/me``, ``/attributes/describeTypes.json`` (PyMISP's constructor)
- ``POST /events/restSearch`` (type, eventid, tags, from/to, timestamp, metadata, page/limit)
- ``GET  /events/view/{id|uuid}``
- ``POST /tags/attachTagToObject``, ``/attributes/add/{event_id}``, ``/objects/add/{event_id}``,
  ``/objectReferences/add``
- ``GET  /galaxies/index`` and ``/galaxies/view/{id|uuid}`` (for ``update``'s misp-instance source), shaped as
  ``GalaxiesController::index/view`` answer REST calls: a list of ``{"Galaxy": {...}}``, and
  ``{"Galaxy": {...}, "GalaxyCluster": [{..., "GalaxyElement": [...]}]}``; set with ``add_galaxy``

Events live in memory in MISP's JSON shape (ids and distributions as strings), so a
second run sees what the first wrote. Every request is recorded (method, path, JSON
body; never headers). The ``Authorization`` header must equal the key; ``role`` is the
key's user's role as ``users/view/me`` reports it. ``fail_on``
injects an HTTP 500, a dropped connection before the write, or a write that is
applied and whose response is then lost.
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
import time
import uuid as uuid_module
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, Callable

import pymisp
from loopback import LoopbackServer

KEY = "St4ndInTestKey0123456789abcdefghijklmnop"   # 40 characters, like a MISP auth key
DESCRIBE_TYPES = json.loads((Path(pymisp.__file__).parent / "data" / "describeTypes.json").read_text())
WRITE_PATHS = ("/tags/attachTagToObject", "/attributes/add/", "/objects/add/", "/objectReferences/add")


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    body: Any
    event_id: str | None       # the event a write touches, resolved by the stand-in
    fault: str | None = None

    @property
    def is_write(self) -> bool:
        return self.method == "POST" and self.path.startswith(WRITE_PATHS)


@dataclass
class _Fault:
    match: Callable[[Call], bool]
    mode: str                  # "500", "drop" (nothing applied) or "lost" (applied, response lost)
    times: int


@dataclass
class StandIn:
    key: str = KEY
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    faults: list[_Fault] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    ids: Any = field(default_factory=lambda: itertools.count(1000))
    tag_ids: dict[str, str] = field(default_factory=dict)
    owner: dict[str, str] = field(default_factory=dict)     # uuid of an event, attribute or object -> event id
    galaxies: dict[str, dict[str, Any]] = field(default_factory=dict)   # galaxy id -> galaxies/view answer
    # A careless MISP (or proxy) that quotes the key back in its error pages, in other forms.
    echo_key_in_errors: bool = False
    role: dict[str, Any] = field(default_factory=lambda: {"id": "1", "name": "admin", "perm_add": True,
                                                          "perm_modify": True, "perm_modify_org": True,
                                                          "perm_tag_editor": True, "perm_site_admin": True})

    # --- set-up ---------------------------------------------------------------------

    def add_event(self, info: str, attributes: list[dict[str, Any]] = (), *,  # type: ignore[assignment]
                  tags: list[str] = (), date: str = "2024-10-01", distribution: str = "1",  # type: ignore[assignment]
                  objects: list[dict[str, Any]] = ()) -> dict[str, Any]:  # type: ignore[assignment]
        event_id = str(len(self.events) + 1)
        event: dict[str, Any] = {
            "id": event_id, "uuid": str(uuid_module.uuid4()), "info": info, "date": date,
            "threat_level_id": "4", "analysis": "0", "distribution": distribution, "sharing_group_id": "0",
            "published": False, "timestamp": str(int(time.time()) - 86400), "publish_timestamp": "0",
            "org_id": "1", "orgc_id": "1", "attribute_count": "0", "disable_correlation": False,
            "extends_uuid": "", "proposal_email_lock": False, "locked": False,
            "Org": {"id": "1", "name": "ORGNAME", "uuid": "5d9b3c6e-0000-4000-8000-000000000001", "local": True},
            "Orgc": {"id": "1", "name": "ORGNAME", "uuid": "5d9b3c6e-0000-4000-8000-000000000001", "local": True},
            "Attribute": [], "ShadowAttribute": [], "RelatedEvent": [], "Galaxy": [], "Object": [],
            "EventReport": [], "CryptographicKey": [], "Tag": [self._tag(t, False) for t in tags],
        }
        self.events[event_id] = event
        self.owner[event["uuid"]] = event_id
        for spec in attributes:
            self._store_attribute(event, dict(spec))
        for spec in objects:
            self._store_object(event, dict(spec))
        return event

    def add_galaxy(self, view: dict[str, Any]) -> None:
        """A galaxy as ``galaxies/view/{id}`` returns it; ``galaxies/index`` lists its ``Galaxy`` part."""
        self.galaxies[str(view["Galaxy"]["id"])] = view

    def fail_on(self, match: Callable[[Call], bool], mode: str = "500", times: int = 1) -> None:
        self.faults.append(_Fault(match, mode, times))

    @property
    def writes(self) -> list[Call]:
        return [c for c in self.calls if c.is_write]

    def event(self, event_id: str) -> dict[str, Any]:
        return self.events[event_id]

    # --- server -----------------------------------------------------------------------

    def __enter__(self) -> "StandIn":
        self.loop = LoopbackServer(self._handle)
        self.url = self.loop.url
        return self

    def __exit__(self, *exc: Any) -> None:
        self.loop.close()

    def _handle(self, request: BaseHTTPRequestHandler, method: str) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length) if length else b""
        path = request.path.split("?", 1)[0].removesuffix(".json")
        if request.headers.get("Authorization") != self.key:
            self._send(request, 403, {"name": "Authentication failed. Please make sure you pass the API key of an "
                                      "API enabled user along in the Authorization header.",
                                      "message": "Authentication failed.", "url": path})
            return
        body = json.loads(raw) if raw else None
        with self.lock:
            call = Call(method, path, body, self._event_of(path, body))
            fault = next((f for f in self.faults if f.times > 0 and f.match(call)), None)
            if fault is not None:
                fault.times -= 1
                call = Call(method, path, body, call.event_id, fault.mode)
            self.calls.append(call)
            if fault is not None and fault.mode in ("500", "drop"):
                if fault.mode == "500":
                    echo = (f" (request by {base64.b64encode(self.key.encode()).decode()}, "
                            f"{self.key.lower()})" if self.echo_key_in_errors else "")
                    self._send(request, 500, {"name": "An Internal Error Has Occurred." + echo,
                                              "message": "An Internal Error Has Occurred." + echo, "url": path})
                else:
                    request.close_connection = True
                return
            status, answer = self._route(method, path, body)
        if fault is not None:           # "lost": applied, but the client never hears back
            request.close_connection = True
            return
        self._send(request, status, answer)

    @staticmethod
    def _send(request: BaseHTTPRequestHandler, status: int, answer: Any) -> None:
        data = json.dumps(answer).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)

    # --- routes ---------------------------------------------------------------------------

    def _route(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        parts = path.strip("/").split("/")
        if method == "GET" and path == "/servers/getVersion":
            return 200, {"version": "2.5.1", "pymisp_recommended_version": pymisp.__version__, "perm_sync": False,
                         "perm_sighting": False, "perm_galaxy_editor": False, "request_encoding": [],
                         "filter_sightings": True}
        if method == "GET" and path == "/users/view/me":
            return 200, {"User": {"id": "1", "email": "admin@admin.test", "org_id": "1", "role_id": "1",
                                  "disabled": False, "autoalert": False},
                         "Role": dict(self.role),
                         "UserSetting": [], "Organisation": {"id": "1", "name": "ORGNAME"}}
        if method == "GET" and path == "/attributes/describeTypes":
            return 200, DESCRIBE_TYPES
        if method == "GET" and path == "/galaxies/index":
            return 200, [{"Galaxy": view["Galaxy"]} for view in self.galaxies.values()]
        if method == "GET" and parts[:2] == ["galaxies", "view"] and len(parts) == 3:
            view = self.galaxies.get(parts[2]) or next(
                (v for v in self.galaxies.values() if v["Galaxy"]["uuid"] == parts[2]), None)
            return (200, view) if view else (404, _invalid("Galaxy not found.", path))
        if method == "POST" and path == "/events/restSearch":
            return 200, {"response": self._search(body or {})}
        if method in ("GET", "POST") and parts[:2] == ["events", "view"] and len(parts) == 3:
            event = self._find_event(parts[2])
            return (200, {"Event": event}) if event else (404, _invalid("Invalid event.", path))
        if method == "POST" and path == "/tags/attachTagToObject":
            return self._attach_tag(body or {})
        if method == "POST" and parts[:2] == ["attributes", "add"] and len(parts) == 3:
            return self._add_attribute(parts[2], body or {})
        if method == "POST" and parts[:2] == ["objects", "add"] and len(parts) == 3:
            return self._add_object(parts[2], body or {})
        if method == "POST" and path == "/objectReferences/add":
            return self._add_reference(body or {})
        return 404, _invalid(f"Could not find {path}", path)

    def _search(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        wanted = [str(e) for e in _as_list(query.get("eventid"))]
        tags = {t.casefold() for t in _as_list(query.get("tags"))}
        found = []
        for event in sorted(self.events.values(), key=lambda e: int(e["id"])):
            attributes = _all_attributes(event)
            if query.get("type") and not any(a["type"] == query["type"] for a in attributes):
                continue
            if wanted and event["id"] not in wanted and event["uuid"] not in wanted:
                continue
            names = {t["name"].casefold() for t in event["Tag"]} | \
                {t["name"].casefold() for a in attributes for t in a.get("Tag", [])}
            if tags and not tags & names:
                continue
            if query.get("from") and event["date"] < str(query["from"]):
                continue
            if query.get("to") and event["date"] > str(query["to"]):
                continue
            if query.get("timestamp") and int(event["timestamp"]) < int(query["timestamp"]):
                continue
            found.append(event)
        limit, page = query.get("limit"), int(query.get("page") or 1)
        if limit:
            found = found[(page - 1) * int(limit): page * int(limit)]
        if query.get("metadata") in (1, "1", True):
            keep = ("Attribute", "Object", "ShadowAttribute", "EventReport")
            return [{"Event": {k: v for k, v in e.items() if k not in keep}} for e in found]
        return [{"Event": e} for e in found]

    def _attach_tag(self, body: dict[str, Any]) -> tuple[int, Any]:
        target, name, local = str(body.get("uuid", "")), str(body.get("tag", "")).strip(), bool(body.get("local"))
        event = self._find_event(target)
        holder = event if event else next((a for a in _all_attributes(self._owner(target)) if a["uuid"] == target),
                                          None)
        if holder is None:
            return 404, _invalid("Invalid object.", "/tags/attachTagToObject")
        kind = "Event" if event else "Attribute"
        if any(t["name"].casefold() == name.casefold() for t in holder["Tag"]):
            message = f"{kind} already has the requested tag attached, no changes had to be made for tag {name}."
        else:
            tag = self._tag(name, local)
            holder["Tag"].append(tag)
            message = (f"{'Local' if local else 'Global'} tag {name}({tag['id']}) successfully attached to "
                       f"{kind}({holder['id']}).")
            if event and not local:
                self._touch(event)
        return 200, {"saved": True, "success": True, "name": message, "message": message,
                     "url": "/tags/attachTagToObject"}

    def _add_attribute(self, event_ref: str, body: dict[str, Any]) -> tuple[int, Any]:
        event = self._find_event(event_ref)
        if event is None:
            return 404, _invalid("Invalid event.", f"/attributes/add/{event_ref}")
        attribute = body.get("Attribute", body)
        errors = self._attribute_errors(attribute)
        dup = any(a["type"] == attribute.get("type") and a["category"] == attribute.get("category")
                  and a["value"].casefold() == str(attribute.get("value", "")).casefold() and not a["deleted"]
                  for a in event["Attribute"])
        if dup:
            errors.setdefault("value", []).append("A similar attribute already exists for this event.")
        if errors:
            return 403, _fail("Could not add Attribute", "/attributes/add", errors)
        stored = self._store_attribute(event, dict(attribute))
        self._touch(event)
        return 200, {"Attribute": stored}

    def _add_object(self, event_ref: str, body: dict[str, Any]) -> tuple[int, Any]:
        event = self._find_event(event_ref)
        if event is None:
            return 404, _invalid("Invalid event.", f"/objects/add/{event_ref}")
        obj = body.get("Object", body)
        missing = [k for k in ("name", "meta-category", "template_uuid", "template_version") if not obj.get(k)]
        errors: dict[str, list[str]] = {"template": [f"lacking {', '.join(missing)}"]} if missing else {}
        for attribute in obj.get("Attribute", []):
            for key, problems in self._attribute_errors(attribute).items():
                errors.setdefault(key, []).extend(problems)
        if not obj.get("Attribute"):
            errors.setdefault("Attribute", []).append("an object needs attributes")
        if errors:
            return 403, _fail("Could not add Object", "/objects/add", errors)
        stored = self._store_object(event, dict(obj))
        self._touch(event)
        return 200, {"Object": stored}

    def _add_reference(self, body: dict[str, Any]) -> tuple[int, Any]:
        ref = body.get("ObjectReference", body)
        event = self._owner(str(ref.get("object_uuid")))
        owner = next(((event, o) for o in event["Object"] if o["uuid"] == ref.get("object_uuid")), None)
        if owner is None:
            return 404, _invalid("Invalid object.", "/objectReferences/add")
        event, obj = owner
        target = next((o for o in event["Object"] if o["uuid"] == ref.get("referenced_uuid")), None)
        target_type = "1"
        if target is None:
            target = next((a for a in _all_attributes(event) if a["uuid"] == ref.get("referenced_uuid")), None)
            target_type = "0"
        if target is None:
            return 404, _invalid("Invalid target. Target has to be within the same event.", "/objectReferences/add")
        stored = {"id": self._id(), "uuid": ref.get("uuid") or str(uuid_module.uuid4()),
                  "timestamp": str(int(time.time())), "object_id": obj["id"], "event_id": event["id"],
                  "source_uuid": obj["uuid"], "object_uuid": obj["uuid"], "referenced_uuid": target["uuid"],
                  "referenced_id": target["id"], "referenced_type": target_type,
                  "relationship_type": ref.get("relationship_type", ""), "comment": ref.get("comment", ""),
                  "deleted": False}
        obj["ObjectReference"].append(stored)
        self._touch(event)
        return 200, {"ObjectReference": stored}

    # --- store helpers ---------------------------------------------------------------------

    def _attribute_errors(self, attribute: dict[str, Any]) -> dict[str, list[str]]:
        errors: dict[str, list[str]] = {}
        kind, category = attribute.get("type"), attribute.get("category")
        if kind not in DESCRIBE_TYPES["result"]["types"]:
            errors["type"] = ["Options depend on the selected category."]
        elif category and kind not in DESCRIBE_TYPES["result"]["category_type_mappings"].get(category, []):
            errors["category"] = ["Options depend on the selected type."]
        if not str(attribute.get("value", "")).strip():
            errors["value"] = ["Value cannot be empty."]
        if attribute.get("uuid") in self.owner:
            errors["uuid"] = ["The UUID provided is not unique"]
        return errors

    def _store_attribute(self, event: dict[str, Any], spec: dict[str, Any], object_id: str = "0") -> dict[str, Any]:
        kind = spec["type"]
        stored = {
            "id": self._id(), "event_id": event["id"], "object_id": object_id,
            "object_relation": spec.get("object_relation"), "type": kind,
            "category": spec.get("category") or DESCRIBE_TYPES["result"]["sane_defaults"][kind]["default_category"],
            "value": str(spec["value"]), "to_ids": bool(spec.get("to_ids", False)),
            "uuid": spec.get("uuid") or str(uuid_module.uuid4()), "timestamp": str(int(time.time())),
            "distribution": str(spec.get("distribution", "5")), "sharing_group_id": str(spec.get("sharing_group_id", "0")),
            "comment": spec.get("comment", ""), "deleted": False, "disable_correlation": bool(spec.get("disable_correlation")),
            "first_seen": None, "last_seen": None,
            "Tag": [self._tag(t["name"], bool(t.get("local"))) if isinstance(t, dict) else self._tag(t, False)
                    for t in spec.get("Tag", [])],
        }
        self.owner[stored["uuid"]] = event["id"]
        if object_id == "0":
            event["Attribute"].append(stored)
        return stored

    def _store_object(self, event: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
        object_id = self._id()
        stored: dict[str, Any] = {
            "id": object_id, "name": spec["name"], "meta-category": spec.get("meta-category", "misc"),
            "description": spec.get("description", ""), "template_uuid": spec.get("template_uuid", ""),
            "template_version": str(spec.get("template_version", "1")), "event_id": event["id"],
            "uuid": spec.get("uuid") or str(uuid_module.uuid4()), "timestamp": str(int(time.time())),
            "distribution": str(spec.get("distribution", "5")), "sharing_group_id": str(spec.get("sharing_group_id", "0")),
            "comment": spec.get("comment", ""), "deleted": False, "first_seen": None, "last_seen": None,
            "ObjectReference": [],
        }
        self.owner[stored["uuid"]] = event["id"]
        stored["Attribute"] = [self._store_attribute(event, dict(a), object_id) for a in spec.get("Attribute", [])]
        event["Object"].append(stored)
        return stored

    def _tag(self, name: str, local: bool) -> dict[str, Any]:
        tag_id = self.tag_ids.setdefault(name.casefold(), str(len(self.tag_ids) + 1))
        return {"id": tag_id, "name": name, "colour": "#0088cc", "exportable": True, "user_id": "0",
                "hide_tag": False, "numerical_value": None, "is_galaxy": name.startswith("misp-galaxy:"),
                "is_custom_galaxy": False, "local_only": False, "local": local}

    def _touch(self, event: dict[str, Any]) -> None:
        event["timestamp"] = str(int(time.time()))
        event["published"] = False

    def _id(self) -> str:
        return str(next(self.ids))

    def _find_event(self, ref: str) -> dict[str, Any] | None:
        event = self.events.get(ref) or self.events.get(self.owner.get(ref, ""))
        return event if event and ref in (event["id"], event["uuid"]) else None

    def _owner(self, uuid: str) -> dict[str, Any]:
        return self.events.get(self.owner.get(uuid, ""), {"Attribute": [], "Object": []})

    def _event_of(self, path: str, body: Any) -> str | None:
        parts = path.strip("/").split("/")
        if len(parts) == 3 and parts[0] in ("events", "attributes", "objects") and parts[1] in ("view", "add"):
            event = self._find_event(parts[2])
            return event["id"] if event else parts[2]
        if isinstance(body, dict):
            ref = body.get("uuid") if path == "/tags/attachTagToObject" else body.get("object_uuid")
            return self.owner.get(str(ref))
        return None


def _all_attributes(event: dict[str, Any]) -> list[dict[str, Any]]:
    return [*event["Attribute"], *(a for o in event["Object"] for a in o["Attribute"])]


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _invalid(message: str, url: str) -> dict[str, str]:
    return {"name": message, "message": message, "url": url}


def _fail(name: str, url: str, errors: Any) -> dict[str, Any]:
    return {"saved": False, "name": name, "message": name, "url": url, "errors": errors}
