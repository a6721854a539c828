"""Resolutions for people and for scripts: the JSON shape (``--json``) and the terminal text.

Shared by ``resolve`` and ``scan``; the JSON shape is also what the benchmarks and
users' scripts read.
"""

from __future__ import annotations

import sys
from typing import Any, Sequence, TextIO

from ..core.knowledge import Knowledge
from ..core.models import Candidate, Resolution, Status, Targeting, TargetItem


def resolution_dict(resolution: Resolution, targetings: Sequence[Targeting] = ()) -> dict[str, Any]:
    return {
        "query": resolution.query,
        "status": resolution.status.value,
        "reason": resolution.reason,
        "candidates": [
            candidate_dict(c, targetings[i] if i < len(targetings) else None)
            for i, c in enumerate(resolution.candidates)
        ],
    }


def candidate_dict(candidate: Candidate, targeting: Targeting | None) -> dict[str, Any]:
    actor = candidate.actor
    out: dict[str, Any] = {
        "name": actor.name,
        "matched": candidate.matched,
        "tier": candidate.tier.label,
        "score": candidate.score,
        "tags": list(candidate.tags),
        "aliases": list(actor.aliases),
        "clusters": [{"galaxy": c.galaxy, "value": c.value, "uuid": c.uuid} for c in actor.clusters],
        "reached": [{"galaxy": c.galaxy, "value": c.value, "uuid": c.uuid} for c in actor.reached],
        "duplicates": [{"galaxy": c.galaxy, "value": c.value, "uuid": c.uuid} for c in actor.duplicates],
        "operators": [{"galaxy": c.galaxy, "value": c.value, "uuid": c.uuid} for c in actor.operators],
        "operates": [{"galaxy": c.galaxy, "value": c.value, "uuid": c.uuid} for c in actor.operates],
    }
    if targeting is not None:
        out["targeting"] = targeting_dict(targeting)
    return out


def targeting_dict(targeting: Targeting) -> dict[str, Any]:
    def items(values: Sequence[TargetItem]) -> list[dict[str, Any]]:
        return [
            {
                "value": i.value,
                **({"code": i.code} if i.code else {}),
                **({"tag": i.galaxy_tag} if i.galaxy_tag else {}),
                "originals": list(i.originals),
                "support": i.support,
                "sources": [{"galaxy": s.galaxy, "cluster": s.cluster, "field": s.field,
                             **({"sentence": s.sentence} if s.sentence else {})} for s in i.sources],
            }
            for i in values
        ]

    return {
        "countries": items(targeting.countries),
        "regions": items(targeting.regions),
        "organisations": items(targeting.organisations),
        "sectors": items(targeting.sectors),
        "incident_types": items(targeting.incident_types),
        "sponsors": items(targeting.sponsors),
        "origins": items(targeting.origins),
        "motives": items(targeting.motives),
        "domestic": items(targeting.domestic),
    }


def print_resolution(resolution: Resolution, targetings: Sequence[Targeting], out: TextIO) -> None:
    query = resolution.query
    if resolution.status is Status.RESOLVED:
        cand = resolution.candidates[0]
        reason = resolution.reason.replace(f"; {resolution.note}", "") if resolution.note else resolution.reason
        out.write(f"{query}: {cand.actor.name}  ({reason} on {cand.matched!r})\n")
        if resolution.note:
            out.write(f"  note:     {resolution.note}\n")
        print_candidate(cand, targetings[0], out, tagged=True)
    elif resolution.status is Status.UNKNOWN:
        out.write(f"{query}: unknown ({resolution.reason})\n")
    else:
        label = "ambiguous" if resolution.status is Status.AMBIGUOUS else "not found; did you mean"
        out.write(f"{query}: {label} ({resolution.reason})\n")
        for cand, targeting in zip(resolution.candidates, targetings, strict=True):
            score = f", score {cand.score:.2f}" if cand.tier.label == "suggestion" else ""
            out.write(f"  - {cand.actor.name}  ({cand.tier.label} on {cand.matched!r}{score})\n")
            print_candidate(cand, targeting, out, tagged=False, indent="      ")
    out.write("\n")


def print_candidate(cand: Candidate, targeting: Targeting, out: TextIO, *, tagged: bool, indent: str = "  ") -> None:
    actor = cand.actor
    aliases = ", ".join(actor.aliases[:12]) + (f" (+{len(actor.aliases) - 12} more)" if len(actor.aliases) > 12 else "")
    if aliases:
        out.write(f"{indent}aliases:  {aliases}\n")
    if actor.duplicates:
        out.write(f"{indent}duplicates: "
                  + ", ".join(f"{c.galaxy} {c.value!r}" for c in actor.duplicates) + " (same actor, also tagged)\n")
    if actor.operators:
        out.write(f"{indent}operated by: " + ", ".join(f"{c.galaxy} {c.value!r}" for c in actor.operators) + "\n")
    if actor.operates:
        out.write(f"{indent}runs:     " + ", ".join(f"ransomware {c.value!r}" for c in actor.operates) + "\n")
    out.write(f"{indent}{'tags' if tagged else 'would tag'}:\n")
    for tag in cand.tags:
        out.write(f"{indent}  {tag}\n")
    rows = (
        ("countries", [f"{i.value} ({i.code})" if i.code else i.value for i in targeting.countries]),
        ("regions", [i.value for i in targeting.regions]),
        ("victims", [i.value for i in targeting.organisations]),
        ("sectors", [i.value for i in targeting.sectors]),
        ("incidents", [i.value for i in targeting.incident_types]),
        ("sponsor", [i.value for i in targeting.sponsors]),
        ("origin", [i.value for i in targeting.origins]),
        ("motives", [i.value for i in targeting.motives]),
        ("at home", [i.value for i in targeting.domestic]),
    )
    for label, values in rows:
        if values:
            out.write(f"{indent}{label + ':':10}{', '.join(values)}\n")


def knowledge_in_use() -> Knowledge:
    """The process-wide knowledge, after warning on stderr about site files it could not use."""
    from ..data import runtime

    known = runtime.current()
    for error in runtime.site_errors():   # the last good files are in force meanwhile
        print(f"misp-actor-enrich: warning: {error}; using the last good file until it is fixed", file=sys.stderr)
    return known
