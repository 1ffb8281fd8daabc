"""The console's pages (GET): sign-in, Today, a job, history, contacts and settings. Each calls the
app's own functions and renders; nothing here decides anything about invoices."""

from __future__ import annotations

import secrets

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from jobsync.app import console_views, contact_commands, doctor, history
from jobsync.config.settings import Settings
from jobsync.core.errors import JobsyncError
from jobsync.web.console_auth import LOGIN_COOKIE
from jobsync.web.console_base import Console


def routes(console: Console) -> list[Route]:
    settings = console.settings

    async def login_page(request: Request) -> Response:
        token = secrets.token_urlsafe(24)
        response = console.page(request, "login.html", None, title="Sign in", login_csrf=token, problem="")
        response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=_https(request))
        return response

    async def today(request: Request) -> Response:
        visitor = console.visitor(request)
        if visitor is None:
            return console.sign_in_first()
        term = request.query_params.get("q", "").strip()
        searched_for = request.query_params.get("search_job", "")
        found = await run_in_threadpool(_search, settings, term) if term and searched_for else []
        shown = await run_in_threadpool(console_views.today, settings)  # a preview pass: off the event loop
        return console.page(
            request, "today.html", visitor, title="Today", today=shown, found=found, searched_for=searched_for, q=term
        )

    async def search(request: Request) -> Response:
        """htmx: the contact choices for one held job, as a fragment."""
        visitor = console.visitor(request)
        if visitor is None:
            return console.sign_in_first()
        found = await run_in_threadpool(_search, settings, request.query_params.get("q", ""))
        job = request.query_params.get("search_job", "")
        return console.page(request, "_contact_choices.html", visitor, found=found, job=job)

    async def job(request: Request) -> Response:
        visitor = console.visitor(request)
        if visitor is None:
            return console.sign_in_first()
        page = await run_in_threadpool(console_views.job_page, settings, request.path_params["job"])
        if page is None:
            return console.page(request, "error.html", visitor, 404, title="Not found", message="No such job.")
        return console.page(request, "job.html", visitor, title=f"Job {page.job_number}", job=page)

    async def runs(request: Request) -> Response:
        visitor = console.visitor(request)
        if visitor is None:
            return console.sign_in_first()
        return console.page(request, "history.html", visitor, title="History", runs=history.recent_runs(settings, 50))

    async def run(request: Request) -> Response:
        visitor = console.visitor(request)
        if visitor is None:
            return console.sign_in_first()
        try:
            report = history.load_report(history.report_of(settings, request.path_params["run"]))
        except JobsyncError as exc:
            return console.page(request, "error.html", visitor, 404, title="Not found", message=exc.message)
        return console.page(request, "run.html", visitor, title=f"Run {report.get('run_id', '')}", report=report)

    async def contacts(request: Request) -> Response:
        visitor = console.visitor(request)
        if visitor is None:
            return console.sign_in_first()
        try:
            surveyed = await run_in_threadpool(contact_commands.survey, settings, 80, False)
            clusters, problem = list(surveyed.found.clusters), ""
        except JobsyncError as exc:
            clusters, problem = [], exc.message
        return console.page(request, "contacts.html", visitor, title="Contacts", clusters=clusters, problem=problem)

    async def settings_page(request: Request) -> Response:
        visitor = console.visitor(request)
        if visitor is None:
            return console.sign_in_first()
        checks = []
        if settings.config_path:  # doctor reaches Xero and the job system: off the event loop
            checks = (await run_in_threadpool(doctor.run_checks, settings.config_path)).checks
        shown = console_views.settings_view(settings)
        return console.page(request, "settings.html", visitor, title="Settings", config=shown, checks=checks)

    return [
        Route("/login", login_page, methods=["GET"]),
        Route("/", today, methods=["GET"]),
        Route("/contacts/search", search, methods=["GET"]),
        Route("/jobs/{job:path}", job, methods=["GET"]),
        Route("/history", runs, methods=["GET"]),
        Route("/history/{run}", run, methods=["GET"]),
        Route("/contacts", contacts, methods=["GET"]),
        Route("/settings", settings_page, methods=["GET"]),
    ]


def _https(request: Request) -> bool:
    return request.url.scheme == "https"


def _search(settings: Settings, term: str) -> list[tuple[str, str, str]]:
    try:
        return contact_commands.search(settings, term)
    except JobsyncError:
        return []
