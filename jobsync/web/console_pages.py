"""The console's pages (GET): sign-in, Today, a job, history, contacts, settings and the practice. Each calls the
app's own functions and renders; nothing here decides anything about invoices. Every page but the
sign-in page is reached through `Console.signed_in`, which sends a visitor without a session away."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from jobsync.app import console_views, contact_commands, doctor, history, practice_view
from jobsync.config.settings import Settings, redacted_settings
from jobsync.core.errors import JobsyncError
from jobsync.web.console_auth import LOGIN_COOKIE
from jobsync.web.console_base import Console, Visitor


def routes(console: Console) -> list[Route]:
    async def login_page(request: Request) -> Response:
        token = secrets.token_urlsafe(24)
        response = console.page(request, "login.html", None, title="Sign in", login_csrf=token, problem="")
        response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https")
        return response

    pages = [
        ("/", today),
        ("/contacts/search", search),
        ("/jobs/{job:path}", job),
        ("/history", runs),
        ("/history/{run}", run),
        ("/contacts", contacts),
        ("/settings", settings_page),
        ("/practice", practice_page),
    ]
    signed_in = [Route(path, console.signed_in(page), methods=["GET"]) for path, page in pages]
    return [Route("/login", login_page, methods=["GET"]), *signed_in]


async def today(console: Console, request: Request, visitor: Visitor) -> Response:
    term = request.query_params.get("q", "").strip()
    searched_for = request.query_params.get("search_job", "")
    found = await run_in_threadpool(_search, console.settings, term) if term and searched_for else []
    shown = await run_in_threadpool(console_views.today, console.settings)  # a preview pass: off the event loop
    return console.page(
        request, "today.html", visitor, title="Today", today=shown, found=found, searched_for=searched_for, q=term
    )


async def search(console: Console, request: Request, visitor: Visitor) -> Response:
    """htmx: the contact choices for one held job, as a fragment."""
    found = await run_in_threadpool(_search, console.settings, request.query_params.get("q", ""))
    job_id = request.query_params.get("search_job", "")
    return console.page(request, "_contact_choices.html", visitor, found=found, job=job_id)


async def job(console: Console, request: Request, visitor: Visitor) -> Response:
    page = await run_in_threadpool(console_views.job_page, console.settings, request.path_params["job"])
    if page is None:
        return console.page(request, "error.html", visitor, 404, title="Not found", message="No such job.")
    return console.page(request, "job.html", visitor, title=f"Job {page.job_number}", job=page)


async def runs(console: Console, request: Request, visitor: Visitor) -> Response:
    shown = history.recent_runs(console.settings, 50)
    return console.page(request, "history.html", visitor, title="History", runs=shown)


async def run(console: Console, request: Request, visitor: Visitor) -> Response:
    try:
        report = history.load_report(history.report_of(console.settings, request.path_params["run"]))
    except JobsyncError as exc:
        return console.page(request, "error.html", visitor, 404, title="Not found", message=exc.message)
    return console.page(request, "run.html", visitor, title=f"Run {report.get('run_id', '')}", report=report)


async def contacts(console: Console, request: Request, visitor: Visitor) -> Response:
    try:
        surveyed = await run_in_threadpool(contact_commands.survey, console.settings, 80, False)
        clusters, problem = list(surveyed.found.clusters), ""
    except JobsyncError as exc:
        clusters, problem = [], exc.message
    return console.page(request, "contacts.html", visitor, title="Contacts", clusters=clusters, problem=problem)


async def settings_page(console: Console, request: Request, visitor: Visitor) -> Response:
    checks = []
    if console.settings.config_path:  # doctor reaches Xero and the job system: off the event loop
        checks = (await run_in_threadpool(doctor.run_checks, console.settings.config_path)).checks
    shown = redacted_settings(console.settings)  # every secret as ***
    return console.page(request, "settings.html", visitor, title="Settings", config=shown, checks=checks)


async def practice_page(console: Console, request: Request, visitor: Visitor) -> Response:
    """`serve --org`: every org of the practice, as `jobsync orgs status` shows them, with its alerts."""
    if console.practice_url is None:
        return console.page(request, "error.html", visitor, 404, title="Not found", message="Not part of a practice.")
    now = datetime.now(UTC)
    try:
        shown = await run_in_threadpool(practice_view.status, console.practice_url, now)
    except JobsyncError as exc:
        return console.page(request, "error.html", visitor, 503, title="Practice", message=exc.message)
    alerts = practice_view.alerts_of(shown, now)
    return console.page(request, "practice.html", visitor, title="Practice", orgs=shown, alerts=alerts)


def _search(settings: Settings, term: str) -> list[tuple[str, str, str]]:
    try:
        return contact_commands.search(settings, term)
    except JobsyncError:
        return []
