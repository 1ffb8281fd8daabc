"""The console's actions (POST): sign in and out, fix a held job, approve drafts and adjustments, apply
or undo a contact dedupe. Each action is checked first (signed in, allowed to act, the form's CSRF
token: `Console.acting`), then calls one app function in a worker thread, and shows what it did."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from jobsync.app import console_actions, console_views, contact_commands, users
from jobsync.core.errors import JobsyncError
from jobsync.web.console_auth import COOKIE, LOGIN_COOKIE, MAX_AGE, same_token
from jobsync.web.console_base import Console, Visitor

THROTTLED = "Too many failed sign-ins. Wait 15 minutes and try again."
WRONG = "That name and password do not match an account."
STALE = "The sign-in page was old or opened elsewhere. Try again."

Work = Callable[[Console, Request, Visitor, FormData], str]


class _Incomplete(Exception):
    """The form lacks what the action needs; the message says what to fill in."""


def routes(console: Console) -> list[Route]:
    async def sign_in(request: Request) -> Response:
        return await login(console, request)

    async def sign_out(request: Request) -> Response:
        return await logout(console, request)

    actions: list[tuple[str, Work]] = [
        ("/held/{job:path}/{how}", fix),
        ("/approve", approve),
        ("/adjustments/approve", approve_adjustment),
        ("/contacts/{how:str}", dedupe),
    ]
    return [
        Route("/login", sign_in, methods=["POST"]),
        Route("/logout", sign_out, methods=["POST"]),
        *[Route(path, _action(console, work), methods=["POST"]) for path, work in actions],
    ]


async def login(console: Console, request: Request) -> Response:
    settings = console.settings
    form = {k: str(v) for k, v in (await request.form()).items()}
    token = form.get("login_csrf", "")
    if not same_token(token, request.cookies.get(LOGIN_COOKIE, "")):
        return console.page(request, "login.html", None, 403, title="Sign in", login_csrf="", problem=STALE)
    name, address = form.get("name", "").strip(), request.client.host if request.client else "?"
    keys = (f"name:{name.lower()}", f"addr:{address}")
    if console.throttle.blocked(*keys):
        return console.page(request, "login.html", None, 429, title="Sign in", login_csrf=token, problem=THROTTLED)
    user = await run_in_threadpool(users.check, settings, name, form.get("password", ""))
    if user is None:
        console.throttle.failed(*keys)
        users.audit(settings, name or "?", "sign-in refused", f"user:{name}", None, {"from": address})
        return console.page(request, "login.html", None, 401, title="Sign in", login_csrf=token, problem=WRONG)
    console.throttle.cleared(keys[0])  # the name only: a good sign-in must not reset the address
    cookie, _ = console.sessions.issue(user.name)
    users.audit(settings, user.name, "sign in", f"user:{user.name}", None, {"from": address})
    response = RedirectResponse("/", 303)
    secure = request.url.scheme == "https"
    response.set_cookie(COOKIE, cookie, max_age=MAX_AGE, httponly=True, samesite="lax", secure=secure)
    response.delete_cookie(LOGIN_COOKIE)
    return response


async def logout(console: Console, request: Request) -> Response:
    visitor = console.visitor(request)
    form = await request.form()
    if visitor is None or not same_token(form.get("csrf"), visitor.session.csrf):
        return console.sign_in_first()
    response = RedirectResponse("/login", 303)
    response.delete_cookie(COOKIE)
    return response


def _action(console: Console, work: Work) -> Callable[[Request], Awaitable[Response]]:
    """A form's endpoint: the checks first, then the work in a worker thread (a fix can run a sync, which
    must not hold up the webhook receivers on the event loop), then Today saying what happened."""

    async def endpoint(request: Request) -> Response:
        checked = await console.acting(request)
        if isinstance(checked, Response):
            return checked
        visitor, _ = checked
        form = await request.form()
        try:
            said, status = await run_in_threadpool(work, console, request, visitor, form), 200
        except _Incomplete as missing:
            said, status = str(missing), 400
        except JobsyncError as exc:
            said, status = f"Not done: {exc.message}", 409
        return await run_in_threadpool(_done_page, console, request, visitor, said, status)

    return endpoint


def _done_page(console: Console, request: Request, visitor: Visitor, message: str, status: int) -> Response:
    shown = console_views.today(console.settings)
    page = {"title": "Today", "today": shown, "found": [], "searched_for": "", "q": "", "notice": message}
    return console.page(request, "today.html", visitor, status, **page)


def fix(console: Console, request: Request, visitor: Visitor, form: FormData) -> str:
    settings, who = console.settings, visitor.user.name
    job, how = request.path_params["job"], request.path_params["how"]
    given = {k: str(v).strip() for k, v in form.items()}
    if how == "map" and given.get("contact_id"):
        return console_actions.map_to_contact(settings, who, job, given["contact_id"]).message
    if how == "new-name" and given.get("name"):
        return console_actions.create_under_name(settings, who, job, given["name"]).message
    if how == "ignore" and given.get("reason"):
        return console_actions.ignore(settings, who, job, given["reason"]).message
    if how == "retry":
        return console_actions.retry(settings, who, job).message
    raise _Incomplete("Fill in the form's field first.")


def approve(console: Console, request: Request, visitor: Visitor, form: FormData) -> str:
    # (job id, stage, fingerprint): split from the right, because a job system's ids may hold "|".
    picks = None if "all" in form else [tuple(str(p).rsplit("|", 2)) for p in form.getlist("pick")]
    if picks is not None and (not picks or any(len(p) != 3 for p in picks)):
        raise _Incomplete("Tick the drafts to approve, or choose Approve all.")
    done = console_actions.approve(console.settings, visitor.user.name, picks)  # type: ignore[arg-type]
    made = [f"{r.job_number}: {r.invoice_number or r.outcome.value}" for r in done.results]
    said = f"Approved {len(done.approved)}." + (f" Made: {', '.join(made)}." if made else "")
    if done.changed:
        said += f" Changed since you looked, so not approved: {', '.join(done.changed)}."
    return said


def approve_adjustment(console: Console, request: Request, visitor: Visitor, form: FormData) -> str:
    reference = str(form.get("reference", ""))
    return console_actions.approve_adjustment(console.settings, visitor.user.name, reference).message


def dedupe(console: Console, request: Request, visitor: Visitor, form: FormData) -> str:
    settings, how = console.settings, request.path_params["how"]
    if how == "undo":
        lines = contact_commands.undo(settings, str(form.get("run_id", "")))
        said = "Undone: " + ("; ".join(lines) or "nothing to undo")
    else:
        surveyed = contact_commands.survey(settings, 80, False)
        applied = contact_commands.apply(settings, surveyed, contact_commands.appliable(surveyed.found.clusters))
        said = f"Applied; undo with run id {applied.run_id}"
    users.audit(settings, visitor.user.name, f"contacts {how}", "contacts", None, said)
    return said
