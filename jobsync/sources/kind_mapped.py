"""A job source whose lines are re-kinded by `source.kind_map` as they are read.

Wrapping the connector, rather than teaching each one the map, means every platform's line types
go through the same mapping, and the line types that map to nothing are counted in one place.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime

from jobsync.core import line_kinds
from jobsync.core.models import Job
from jobsync.sources.base import JobSource


class KindMappedSource:
    def __init__(self, inner: JobSource, kind_map: Mapping[str, str]) -> None:
        self.inner = inner
        self.name = inner.name
        self.kind_map = dict(kind_map)
        self.unmapped: Counter[str] = Counter()  # platform line types seen that map to nothing

    def _mapped(self, jobs: list[Job]) -> list[Job]:
        out = [line_kinds.remap(job, self.kind_map) for job in jobs]
        self.unmapped.update(line_kinds.unmapped(out))
        return out

    def changed_since(self, mark: datetime) -> list[Job]:
        return self._mapped(self.inner.changed_since(mark))

    def get_jobs(self, ids: Sequence[str]) -> list[Job]:
        return self._mapped(self.inner.get_jobs(ids))

    @property
    def calls(self) -> dict[str, int]:
        return self.inner.calls

    def __getattr__(self, name: str) -> object:
        # Anything else a connector offers (its base URL, its own counters) reads through unchanged.
        return getattr(self.inner, name)
