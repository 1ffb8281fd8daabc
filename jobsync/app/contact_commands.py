"""The `contacts` use cases as the CLI calls them: dedupe (survey, then apply what the person
confirmed), undo, keep-separate. Each opens the state for its own step, so a confirmation prompt
between the survey and the apply holds no database open and no lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from jobsync.app import dedupe_apply
from jobsync.app.dedupe_apply import ApplyResult, Survey, appliable
from jobsync.app.wiring import tenant_id, token_provider
from jobsync.config.settings import Settings
from jobsync.core.dedupe import Cluster
from jobsync.state.store import State
from jobsync.xero.contacts_admin import ContactsAdmin

__all__ = ["ApplyResult", "DedupeSurvey", "appliable", "apply", "keep_separate", "survey", "undo"]


@dataclass
class DedupeSurvey:
    """What a dedupe survey found, and the Xero connection that read it (its call counts included)."""

    admin: ContactsAdmin
    found: Survey

    @property
    def calls(self) -> dict[str, int]:
        return dict(self.admin.calls)


def _admin(settings: Settings) -> ContactsAdmin:
    return ContactsAdmin(settings.xero.api_url, tenant_id(settings), token_provider(settings))


def search(settings: Settings, term: str) -> list[tuple[str, str, str]]:
    """(ContactID, Name, email) of contacts matching `term`, for choosing one to map a client to."""
    if len(term.strip()) < 2:
        return []
    return [
        (str(c["ContactID"]), str(c.get("Name") or ""), str(c.get("EmailAddress") or ""))
        for c in _admin(settings).search(term.strip())
    ]


def survey(settings: Settings, min_score: int, include_archived: bool) -> DedupeSurvey:
    admin = _admin(settings)
    with State.open(settings.state.location) as state:
        return DedupeSurvey(admin, dedupe_apply.survey(admin, state, min_score, include_archived))


def apply(settings: Settings, surveyed: DedupeSurvey, chosen: Sequence[Cluster]) -> ApplyResult:
    with State.open(settings.state.location) as state:  # apply takes the run lock itself, around its writes
        return dedupe_apply.apply_clusters(surveyed.admin, state, surveyed.found, chosen)


def undo(settings: Settings, run_id: str) -> list[str]:
    with State.open(settings.state.location) as state:  # undo takes the run lock itself, around its writes
        return dedupe_apply.undo(_admin(settings), state, run_id)


def keep_separate(settings: Settings, a: str, b: str, wait: float) -> bool:
    with State.open(settings.state.location) as state, state.lock(wait):
        return dedupe_apply.keep_separate(state, a, b)
