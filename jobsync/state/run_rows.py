"""Run history and the log of a person's actions (`jobs retry`, `ignore`, `contacts map` …). A mixin of
`State`: what `status`, `history` and the console's job page read back."""

from __future__ import annotations

from jobsync.core.models import Outcome, RunReport
from jobsync.state.errors import guard_state_errors
from jobsync.state.rows import ActionRow, RunRow, from_iso, to_iso
from jobsync.state.table_mixin import TableMixin
from jobsync.state.upsert import replace_row

RUN_COLUMNS = (
    "run_id",
    "command",
    "started_at",
    "finished_at",
    "created",
    "adopted",
    "skipped",
    "held",
    "failed",
    "exit_code",
    "report_path",
)


@guard_state_errors
class RunRows(TableMixin):
    def record_run(self, report: RunReport, exit_code: int, report_path: str) -> None:
        finished = None if report.finished_at is None else to_iso(report.finished_at)
        counts = [report.count(o) for o in (Outcome.CREATED, Outcome.ADOPTED, Outcome.SKIPPED)]
        counts += [report.count(Outcome.HELD), report.count(Outcome.FAILED)]
        row = (report.run_id, report.command, to_iso(report.started_at), finished, *counts, int(exit_code), report_path)
        with self._tx() as db:
            db.execute(replace_row("runs", RUN_COLUMNS, ("run_id",)), row)

    def recent_runs(self, limit: int = 10) -> list[RunRow]:
        rows = self._conn.execute("SELECT * FROM runs ORDER BY started_at DESC LIMIT ?", (limit,))
        times = ("started_at", "finished_at")
        return [RunRow(**{**dict(r), **{k: from_iso(r[k]) for k in times}}) for r in rows]

    def record_action(self, who: str, action: str, source: str | None, job_id: str | None, detail: str | None) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO actions (at, who, action, source, job_id, detail) VALUES (?, ?, ?, ?, ?, ?)",
                (self._now(), who, action, source, job_id, detail),
            )

    def actions(self, source: str | None = None, job_id: str | None = None, limit: int = 100) -> list[ActionRow]:
        sql, args = "SELECT * FROM actions WHERE 1 = 1", list[object]()
        if source is not None:
            sql, args = sql + " AND source = ?", [*args, source]
        if job_id is not None:
            sql, args = sql + " AND job_id = ?", [*args, job_id]
        rows = self._conn.execute(sql + " ORDER BY id DESC LIMIT ?", [*args, limit])
        return [ActionRow(**{**dict(r), "at": from_iso(r["at"])}) for r in rows]
