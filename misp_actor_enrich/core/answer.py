"""Policy: from a resolution and the settings to the actors we report and the tags we attach.

Pure. This is where "ambiguity is said, not hidden" becomes behaviour: an ambiguous
name lists its candidates untagged unless the admin chose to tag them all; a near
miss is a suggestion, tagged only above a configured score.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .knowledge import Knowledge
from .models import Candidate, Resolution, Status, Targeting
from .settings import Settings

MAX_CANDIDATES = 5


@dataclass(frozen=True, slots=True)
class Finding:
    """One actor to report for the query."""

    candidate: Candidate
    tags: tuple[str, ...]        # what we attach; empty when reported untagged
    role: str                    # "resolved", "candidate" or "suggestion"
    knowledge: Knowledge = field(repr=False, compare=False)

    @property
    def tagged(self) -> bool:
        return bool(self.tags)

    @property
    def targeting(self) -> Targeting:
        # Looked up when shown (the knowledge keeps it per actor): a text naming a thousand actors
        # renders objects for a few, and only those need their targeting read.
        return self.knowledge.targeting(self.candidate.actor)


@dataclass(frozen=True, slots=True)
class Answer:
    resolution: Resolution
    findings: tuple[Finding, ...]

    @property
    def tagged(self) -> bool:
        return any(f.tagged for f in self.findings)


def answer(resolution: Resolution, knowledge: Knowledge, settings: Settings, *, may_tag: bool = True) -> Answer:
    """The actors to report and their tags; ``may_tag=False`` reports without tagging anything."""
    status = resolution.status
    if status is Status.RESOLVED:
        # Several candidates only when the analyst's own tags named several actors.
        chosen, role, tag = resolution.candidates, "resolved", True
    elif status is Status.AMBIGUOUS:
        chosen, role, tag = resolution.candidates[:MAX_CANDIDATES], "candidate", settings.tag_ambiguous
    elif status is Status.SUGGESTED and settings.suggestions:
        best = resolution.candidates[0]
        threshold = settings.tag_suggestions_above
        if threshold is not None and best.score >= threshold:
            chosen, role, tag = (best,), "suggestion", True
        else:
            chosen, role, tag = resolution.candidates[:MAX_CANDIDATES], "suggestion", False
    else:
        chosen, role, tag = (), "", False
    findings = tuple(
        Finding(
            candidate=cand,
            tags=tags_for(cand, settings) if tag and may_tag else (),
            role=role,
            knowledge=knowledge,
        )
        for cand in chosen
    )
    return Answer(resolution, findings)


def tags_for(candidate: Candidate, settings: Settings) -> tuple[str, ...]:
    """The candidate's galaxy tags, limited to the configured galaxies."""
    clusters = (*candidate.actor.clusters, *candidate.actor.carried)
    wanted = settings.galaxy_types
    return tuple(dict.fromkeys(c.tag for c in clusters if c.taggable and (wanted is None or c.galaxy in wanted)))
