"""Settings → the way back to the job system (`sources.write_back.JobWriteBack`) for the configured source."""

from __future__ import annotations

from pathlib import Path

from jobsync.config.follow_up_section import RequestTemplateSettings
from jobsync.config.settings import Settings
from jobsync.sources.write_back import JobWriteBack, ReportOnly


def build_write_back(settings: Settings) -> JobWriteBack:
    src, f = settings.source, settings.follow_up
    if not f.write_payments:
        return ReportOnly(src.name)
    if src.type == "servicem8":
        from jobsync.app.servicem8_wiring import servicem8_base, servicem8_session
        from jobsync.sources.servicem8_back import ServiceM8WriteBack

        return ServiceM8WriteBack(servicem8_base(settings), "", name=src.name, session=servicem8_session(settings))
    if src.type == "simpro" and src.base_url:
        from jobsync.sources.simpro_back import SimproWriteBack

        return SimproWriteBack(str(src.base_url), src.api_key or "", name=src.name)
    if src.type == "csv":
        from jobsync.sources.csv_back import CsvWriteBack

        state = Path(settings.state.path)
        return CsvWriteBack(f.payments_csv or state.with_name("payments.csv"), name=src.name)
    if src.type == "rest" and src.base_url and f.rest is not None:
        return _rest(settings)
    # AroFlo, and a REST source without follow_up.rest: no documented write, so report only.
    return ReportOnly(src.name)


def _rest(settings: Settings) -> JobWriteBack:
    from jobsync.app.wiring import rest_auth
    from jobsync.sources.rest_back import RequestTemplate, RestWriteBack

    src, rest = settings.source, settings.follow_up.rest
    assert rest is not None and src.base_url is not None  # checked by the caller

    def template(t: RequestTemplateSettings | None) -> RequestTemplate | None:
        return None if t is None else RequestTemplate(t.method, t.path, t.body)

    payment = template(rest.payment)
    assert payment is not None
    return RestWriteBack(
        str(src.base_url),
        rest_auth(src),
        payment,
        reversal=template(rest.reversal),
        note=template(rest.note),
        name=src.name,
    )
