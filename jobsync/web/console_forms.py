"""The console's actions (POST): sign in and out, fix a held job, approve drafts, apply or undo a
contact dedupe. Each checks the session, the role and the CSRF token first (`Console.acting`), then
calls one app function and shows what it did."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from jobsync.app import console_actions, console_views, contact_commands, users
from jobsync.core.errors import JobsyncError
from jobsync.web.console_auth import COOKIE, LOGIN_COOKIE, MAX_AGE, same_token
from jobsync.web.console_base import Console, Visitor

THROTTLED = "Too many failed sign-ins. Wait 15 minutes and try again."
WRONG = "That name and password do not match an account."


def routes(console: Console) -> list[Route]:
    settings = console.settings

    async def login(request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        if not same_token(form.get("login_csrf"), request.cookies.get(LOGIN_COOKIE, "")):
            return console.page(request, "login.html", None, 403, title="Sign in", login_csrf="", problem=STALE)
        name, address = form.get("name", "").strip(), request.client.host if request.client else "?"
        keys = (f"name:{name.lower()}", f"addr:{address}")
        if console.throttle.blocked(*keys):
            again = form.get("login_csrf", "")
            return console.page(request, "login.html", None, 429, title="Sign in", login_csrf=again, problem=THROTTLED)
        user = users.check(settings, name, form.get("password", ""))
        if user is None:
            console.throttle.failed(*keys)
            users.audit(settings, name or "?", "sign-in refused", f"user:{name}", None, {"from": address})
            again = form.get("login_csrf", "")
            return console.page(request, "login.html", None, 401, title="Sign in", login_csrf=again, problem=WRONG)
        console.throttle.cleared(keys[0])  # the name only: a good sign-in must not reset the address
        cookie, _ = console.sessions.issue(user.name)
        users.audit(settings, user.name, "sign in", f"user:{user.name}", None, {"from": address})
        response = RedirectResponse("/", 303)
        secure = request.url.scheme == "https"
        response.set_cookie(COOKIE, cookie, max_age=MAX_AGE, httponly=True, samesite="lax", secure=secure)
        response.delete_cookie(LOGIN_COOKIE)
        return response

    async def logout(request: Request) -> Response:
        visitor = console.visitor(request)
        form = await request.form()
        if visitor is None or not same_token(form.get("csrf"), visitor.session.csrf):
            return console.sign_in_first()
        response = RedirectResponse("/login", 303)
        response.delete_cookie(COOKIE)
        return response

    def done_page(request: Request, visitor: Visitor, message: str, status: int = 200) -> Response:
        shown = console_views.today(settings)
        return console.page(
            request,
            "today.html",
            visitor,
            status,
            title="Today",
            today=shown,
            found=[],
            searched_for="",
            q="",
            notice=message,
        )

    async def fix(request: Request) -> Response:
        checked = await console.acting(request)
        if isinstance(checked, Response):
            return checked
        visitor, form = checked
        job, how, who = request.path_params["job"], request.path_params["how"], visitor.user.name
        try:
            if how == "map" and form.get("contact_id"):
                done = console_actions.map_to_contact(settings, who, job, form["contact_id"])
            elif how == "new-name" and form.get("name", "").strip():
                done = console_actions.create_under_name(settings, who, job, form["name"])
            elif how == "ignore" and form.get("reason", "").strip():
                done = console_actions.ignore(settings, who, job, form["reason"])
            elif how == "retry":
                done = console_actions.retry(settings, who, job)
            else:
                return done_page(request, visitor, "Fill in the form's field first.", 400)
        except JobsyncError as exc:
            return done_page(request, visitor, f"Not done: {exc.message}", 409)
        return done_page(request, visitor, done.message)

    async def approve(request: Request) -> Response:
        checked = await console.acting(request)
        if isinstance(checked, Response):
            return checked
        visitor, _ = checked
        picked = (await request.form()).getlist("pick")
        picks = None if "all" in (await request.form()) else [tuple(str(p).split("|", 2)) for p in picked]
        if picks is not None and (not picks or any(len(p) != 3 for p in picks)):
            return done_page(request, visitor, "Tick the drafts to approve, or choose Approve all.", 400)
        try:
            done = console_actions.approve(settings, visitor.user.name, picks)  # type: ignore[arg-type]
        except JobsyncError as exc:
            return done_page(request, visitor, f"Not done: {exc.message}", 409)
        made = [f"{r.job_number}: {r.invoice_number or r.outcome.value}" for r in done.results]
        said = f"Approved {len(done.approved)}." + (f" Made: {', '.join(made)}." if made else "")
        if done.changed:
            said += f" Changed since you looked, so not approved: {', '.join(done.changed)}."
        return done_page(request, visitor, said)

    async def approve_adjustment(request: Request) -> Response:
        checked = await console.acting(request)
        if isinstance(checked, Response):
            return checked
        visitor, form = checked
        try:
            done = console_actions.approve_adjustment(settings, visitor.user.name, form.get("reference", ""))
        except JobsyncError as exc:
            return done_page(request, visitor, f"Not done: {exc.message}", 409)
        return done_page(request, visitor, done.message)

    async def dedupe(request: Request) -> Response:
        checked = await console.acting(request)
        if isinstance(checked, Response):
            return checked
        visitor, form = checked
        try:
            if request.path_params["how"] == "undo":
                lines = contact_commands.undo(settings, form.get("run_id", ""))
                said = "Undone: " + ("; ".join(lines) or "nothing to undo")
            else:
                surveyed = contact_commands.survey(settings, 80, False)
                chosen = contact_commands.appliable(surveyed.found.clusters)
                applied = contact_commands.apply(settings, surveyed, chosen)
                said = f"Applied; undo with run id {applied.run_id}"
            users.audit(settings, visitor.user.name, f"contacts {request.path_params['how']}", "contacts", None, said)
        except JobsyncError as exc:
            said = f"Not done: {exc.message}"
        return done_page(request, visitor, said)

    return [
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/held/{job}/{how}", fix, methods=["POST"]),
        Route("/approve", approve, methods=["POST"]),
        Route("/adjustments/approve", approve_adjustment, methods=["POST"]),
        Route("/contacts/{how:str}", dedupe, methods=["POST"]),
    ]


STALE = "The sign-in page was old or opened elsewhere. Try again."
