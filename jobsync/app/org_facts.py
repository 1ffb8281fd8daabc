"""The zone every time a person reads is shown in: the organisation's, as the last run read it."""

from __future__ import annotations

from jobsync.config.settings import Settings
from jobsync.state.store import State

ORG_ZONE_KEY = "org_timezone"  # in the state's cache: written by each run that reads the Organisation
SHORT_CODE_KEY = "org_short_code"  # likewise: the ShortCode deep links open the organisation by


def display_zone(settings: Settings, state: State | None = None) -> str:
    """The organisation's zone when a run has read it, else the job system's zone from the config."""
    if state is None:
        if not settings.state.path.exists():
            return settings.source.timezone
        with State.open(settings.state.location) as opened:
            return display_zone(settings, opened)
    return state.cache_get(ORG_ZONE_KEY) or settings.source.timezone


def short_code(state: State) -> str | None:
    return state.cache_get(SHORT_CODE_KEY)
